/**
 * `npm run bench:tcp`: node to node file transfer over TCP on loopback, against the raw ceilings of
 * this machine measured in the same run. See bench/README.md for what each figure means.
 *
 *   node --import tsx bench/tcp.ts [--size 1G] [--quick] [--multi-size 256M] [--skip-multi]
 *                                  [--profile DIR] [--timeout SECONDS]
 *
 * Steps, one after the other (a 2-core machine: nothing runs beside what is measured):
 *   1. ceilings: TCP loopback copy, SHA-256, disk write (bench/lib/ceilings.ts);
 *   2. a random file of --size in the seeder's shared_files; the seeder starts in this process and
 *      hashes it (the start-up hashing figure); the downloader starts as a child process through
 *      bin/swarmdrop.mjs with --connect to the seeder; the download is timed through the REST API;
 *      the result's SHA-256 is checked against the file id (outside the clock); peak RSS of the child;
 *      then what the stages no such transfer can skip cost in CPU, and the bound that puts on it here
 *      (bench/lib/stage-costs.ts);
 *   3. multi-source: three seeders each capped with --upload-limit R, one downloader child.
 */
import { parseArgs } from 'node:util';
import { parseBytes } from '../bootstrap-node/config.ts';
import { measureCeilings } from './lib/ceilings.ts';
import { publish, say, sizeLabel } from './lib/report.ts';
import { runGuarded } from './lib/run-guard.ts';
import { multiSource, singleSource } from './lib/tcp-runs.ts';

const DEFAULT_TIMEOUT_S = 600;

interface Options {
  size: number;
  multiSize: number;
  skipMulti: boolean;
  profileDir: string | null;
  timeoutMs: number;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      quick: { type: 'boolean' },
      'multi-size': { type: 'string' },
      'skip-multi': { type: 'boolean' },
      profile: { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  return {
    size: parseBytes(values.size ?? (quick ? '256M' : '1G'), '--size'),
    multiSize: parseBytes(values['multi-size'] ?? (quick ? '128M' : '256M'), '--multi-size'),
    skipMulti: values['skip-multi'] ?? false,
    profileDir: values.profile ?? null,
    timeoutMs: Number(values.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
  };
}

const options = readOptions();
await runGuarded('tcp', options.timeoutMs, async (guard) => {
  say(`bench:tcp  ${sizeLabel(options.size)} node to node over loopback TCP (temp dir ${guard.tempDir})`);
  say(`measuring the ceilings over ${sizeLabel(options.size)} each…`);
  const ceilings = await measureCeilings(guard.tempDir, options.size);
  for (const c of ceilings) say(`  ${c.name}: ${c.mbPerSec.toFixed(0)} MB/s (${c.timed})`);

  const single = await singleSource(guard, options, ceilings);
  const multi = options.skipMulti ? { figures: [], details: {} } : await multiSource(guard, options);
  await publish('tcp', [...single.figures, ...multi.figures], {
    options,
    ceilings,
    ...single.details,
    ...multi.details,
  });
});
