/**
 * `npm run bench`: every benchmark, one after the other, and one table of their figures (also as
 * JSON in bench/results/suite-<timestamp>.json). Run inside the loopback-only network namespace
 * (package.json does), since some benchmarks use WebRTC. See bench/README.md.
 *
 *   node --import tsx bench/run.ts [--quick] [--only NAME[,NAME…]] [--skip NAME[,NAME…]]
 *                                  [--profile DIR] [--timeout SECONDS]
 *
 * Each benchmark runs in its own scope (temp dir, time limit, clean-up of its nodes and processes);
 * one that fails or runs out of time gives a `failed: …` row and the next one runs.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { shutdownWebRtc } from '../lib/peer/transport-webrtc.node.ts';
import { publish, say } from './lib/report.ts';
import type { Figure } from './lib/report.ts';
import { runGuarded, runScoped } from './lib/run-guard.ts';
import type { Benchmark, SuiteResult } from './lib/suite.ts';
import { chatUnderLoadBenchmark } from './suite/chat-under-load.ts';
import { memoryBenchmark } from './suite/memory.ts';
import { multiSourceBenchmark } from './suite/multi-source.ts';
import { setupBenchmark } from './suite/setup.ts';
import { standardPeerBenchmark } from './suite/standard-peer.ts';
import { swarmBenchmark } from './suite/swarm.ts';
import { tcpBenchmark } from './suite/tcp.ts';
import { vsWebTorrentBenchmark } from './suite/vs-webtorrent.ts';
import { webrtcBenchmark } from './suite/webrtc.ts';

/** The browser benchmark is added (as this module, exporting `browserBenchmark`) once the browser peer is merged. */
const BROWSER_MODULE = new URL('./suite/browser.ts', import.meta.url);
const DEFAULT_TIMEOUT_S = 3600;

async function browserBenchmark(): Promise<Benchmark | string> {
  if (!existsSync(BROWSER_MODULE)) return 'no browser benchmark module yet (bench/suite/browser.ts comes with the browser peer)';
  const loaded = (await import(BROWSER_MODULE.href)) as { browserBenchmark?: Benchmark };
  return loaded.browserBenchmark ?? 'bench/suite/browser.ts exports no browserBenchmark';
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string', multiple: true },
      skip: { type: 'string', multiple: true },
      profile: { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const names = (list: string[] | undefined) => (list ? new Set(list.flatMap((l) => l.split(',')).map((n) => n.trim())) : null);
  return {
    quick: values.quick ?? false,
    only: names(values.only),
    skip: names(values.skip) ?? new Set<string>(),
    profileDir: values.profile ?? null,
    timeoutMs: Number(values.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
  };
}

const options = readOptions();
await runGuarded('suite', options.timeoutMs, async (guard) => {
  guard.onCleanup(() => shutdownWebRtc());
  const browser = await browserBenchmark();
  const all: (Benchmark | { name: string; notRun: string })[] = [
    tcpBenchmark,
    vsWebTorrentBenchmark,
    webrtcBenchmark,
    typeof browser === 'string' ? { name: 'browser', notRun: browser } : browser,
    setupBenchmark,
    multiSourceBenchmark,
    swarmBenchmark,
    chatUnderLoadBenchmark,
    standardPeerBenchmark,
    // Last: it writes and frees 4 GiB, and on this VM memory freed in bulk goes back to the host,
    // which makes the next benchmark fault it in again at several times the cost. chat-under-load,
    // which one stall decides, missed in 11 of 13 runs right after it (bench/README.md, sixth session).
    memoryBenchmark,
  ];
  const known = new Set(all.map((b) => b.name));
  for (const name of [...(options.only ?? []), ...options.skip]) {
    if (!known.has(name)) throw new Error(`no benchmark named "${name}"; there are: ${[...known].join(', ')}`);
  }
  const selected = all.filter((b) => (options.only ? options.only.has(b.name) : true) && !options.skip.has(b.name));

  const rows: Figure[] = [];
  const more: Figure[] = [];
  const details: Record<string, unknown> = { quick: options.quick };
  for (const bench of selected) {
    if ('notRun' in bench) {
      rows.push({ name: bench.name, value: NaN, unit: '', outcome: `not run: ${bench.notRun}` });
      continue;
    }
    say(`\n=== ${bench.name}${options.quick ? ' (quick)' : ''} ===`);
    const startedAt = Date.now();
    let result: SuiteResult;
    try {
      result = await runScoped(guard, bench.name, bench.timeoutMs(options.quick), (scope) =>
        bench.run({ quick: options.quick, profileDir: options.profileDir, guard: scope }),
      );
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0]!;
      say(`${bench.name} failed: ${(err as Error).stack ?? reason}`);
      rows.push({ name: bench.name, value: NaN, unit: '', outcome: `failed: ${reason}` });
      details[bench.name] = { error: (err as Error).stack ?? reason, seconds: (Date.now() - startedAt) / 1000 };
      continue;
    }
    const { what, ...figure } = result.figure;
    rows.push({ ...figure, name: bench.name, note: what });
    // Further figures with a goal of their own, or marked inTable, are rows too; the rest go to the JSON.
    for (const extra of result.more ?? []) (extra.goal || extra.inTable ? rows : more).push(extra);
    details[bench.name] = { what, ...result.details, seconds: (Date.now() - startedAt) / 1000 };
  }
  say('\n=== summary ===');
  for (const row of rows) if (row.note) say(`  ${row.name}: ${row.note}`);
  await publish('suite', rows, { ...details, moreFigures: more });
});
