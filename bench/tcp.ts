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
 *   3. multi-source: three seeders each capped with --upload-limit R, one downloader child.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBytes } from '../bootstrap-node/config.ts';
import { GIB, MB, MIB, lowestCeiling, measureCeilings } from './lib/ceilings.ts';
import type { Ceiling } from './lib/ceilings.ts';
import { monotonicMicros, profileThisProcess, summarizeProfiles } from './lib/cpu-profile.ts';
import { placeCopy, sha256OfFile, writeRandomFile } from './lib/files.ts';
import { spawnNodeProcess } from './lib/node-process.ts';
import { publish } from './lib/report.ts';
import type { Figure } from './lib/report.ts';
import { runGuarded } from './lib/run-guard.ts';
import type { RunGuard } from './lib/run-guard.ts';
import { startSeeder } from './lib/seeder.ts';
import { timedDownload, waitForLocal, waitForSources } from './lib/transfer-run.ts';
import type { TimedDownload } from './lib/transfer-run.ts';

/** WebTorrent node to node over TCP on this machine: 512 MiB at about this rate (the figure). */
const WEBTORRENT_MB_PER_S = 160;
const RATIO_GOAL = 0.5;
const PEAK_RSS_GOAL_MB = 200;
/** Per-seeder cap of the multi-source run, and what the download should reach with three of them. */
const SEEDER_CAP_BYTES_PER_S = 16 * MIB;
const SEEDER_COUNT = 3;
const MULTI_SOURCE_GOAL = 2.7;
const DEFAULT_TIMEOUT_S = 600;
/** No single download of this benchmark should take longer than this, however slow the machine. */
const DOWNLOAD_TIMEOUT_MS = 300_000;
const FILE_NAME = 'bench-random.bin';

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

const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
const sizeLabel = (bytes: number) => (bytes >= GIB && bytes % GIB === 0 ? `${bytes / GIB} GiB` : `${Math.round(bytes / MIB)} MiB`);
const say = (text: string) => process.stdout.write(`${text}\n`);

interface MeasuredDownload extends TimedDownload {
  peakRssBytes: number;
  /** Peak RSS when the download completed, before the node re-indexed the file. */
  peakRssAtCompletedBytes: number;
  /** From `completed` to the file being listed as local (the node indexes it again meanwhile), ms. */
  adoptMs: number;
  /** The node's own "hashed a shared file" time for the downloaded file, ms, if it logged one. */
  adoptHashMs: number | null;
}

/**
 * Starts a downloader child connected to `seederPorts`, times its download of `fileId`, waits for
 * the node to finish adopting the file, reads its peak RSS, stops it. With a profile dir, the child
 * runs under --cpu-prof and this process (the seeders) under the inspector's profiler, and both
 * profiles are summarised over the timed window only.
 */
async function measuredDownload(
  guard: RunGuard,
  name: string,
  seederPorts: number[],
  file: { fileId: string; fileSize: number },
  profileDir: string | null,
): Promise<MeasuredDownload> {
  const downloader = await spawnNodeProcess({
    guard,
    dir: join(guard.tempDir, name),
    args: seederPorts.flatMap((port) => ['--connect', `127.0.0.1:${port}`]),
    runtimeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [],
  });
  const { fileId, fileSize } = file;
  await waitForSources(downloader, fileId, seederPorts.length);
  say('downloading…');
  const seederProfile = profileDir ? await profileThisProcess(join(profileDir, `${name}-seeders`)) : null;
  const window = { fromUs: monotonicMicros(), toUs: 0 };
  const run = await timedDownload(downloader, fileId, fileSize, DOWNLOAD_TIMEOUT_MS);
  window.toUs = monotonicMicros();
  const peakRssAtCompletedBytes = downloader.peakRssBytes();
  const seederProfilePath = await seederProfile?.stop();
  const adoptMs = await waitForLocal(downloader, fileId);
  const peakRssBytes = downloader.peakRssBytes();
  const hashed = await downloader.logLines('hashed a shared file');
  await downloader.stop();
  if (profileDir) {
    say(`\nCPU profile of the ${name} (child), timed window only:\n${await summarizeProfiles(join(profileDir, name), { window })}`);
    say(`\nCPU profile of the seeders (this process), timed window:\n${await summarizeProfiles(dirname(seederProfilePath!), { window })}`);
  }
  const adoptHash = hashed.find((l) => l.fileId === fileId);
  return { ...run, peakRssBytes, peakRssAtCompletedBytes, adoptMs, adoptHashMs: adoptHash ? Number(adoptHash.ms) : null };
}

async function singleSource(guard: RunGuard, options: Options, ceilings: Ceiling[]): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const seederDir = join(guard.tempDir, 'seeder');
  const source = join(seederDir, 'shared_files', FILE_NAME);
  say(`writing a ${sizeLabel(options.size)} random file…`);
  const fileId = await writeRandomFile(source, options.size);

  say('starting the seeder (in this process; it hashes the file at start-up)…');
  const seeder = await startSeeder({ dir: seederDir, guard });
  const hashMs = seeder.hashMs[0] ?? seeder.startupMs;
  say(`  hashed in ${(hashMs / 1000).toFixed(2)} s (${mbps(options.size, hashMs).toFixed(0)} MB/s); start-up ${(seeder.startupMs / 1000).toFixed(2)} s`);

  say('starting the downloader (child process through bin/swarmdrop.mjs)…');
  const run = await measuredDownload(guard, 'downloader', [seeder.node.tcpPort], { fileId, fileSize: options.size }, options.profileDir);
  const peakRss = run.peakRssBytes;
  await seeder.node.close();

  say('checking the downloaded file against its id (outside the clock)…');
  const actual = await sha256OfFile(run.destination);
  if (actual !== fileId) throw new Error(`the downloaded file hashes to ${actual}, expected ${fileId}`);
  await rm(run.destination, { force: true });
  await rm(source, { force: true });

  const throughput = mbps(options.size, run.ms);
  const lowest = lowestCeiling(ceilings);
  const label = sizeLabel(options.size);
  const sha = ceilings.find((c) => c.name.startsWith('SHA-256'))!;
  return {
    figures: [
      ...ceilings.map((c) => ({ name: `ceiling: ${c.name}`, value: c.mbPerSec, unit: 'MB/s', note: c.timed })),
      {
        name: `${label} node to node, TCP`,
        value: throughput,
        unit: 'MB/s',
        reference: { label: `lowest ceiling (${lowest.name})`, value: lowest.mbPerSec },
        goal: { on: 'ratio', atLeast: RATIO_GOAL },
      },
      {
        name: `${label} node to node vs WebTorrent`,
        value: throughput,
        unit: 'MB/s',
        reference: { label: 'WebTorrent TCP (issue)', value: WEBTORRENT_MB_PER_S },
        goal: { on: 'ratio', atLeast: 1 },
      },
      { name: 'downloader peak RSS', value: peakRss / MB, unit: 'MB', goal: { on: 'value', below: PEAK_RSS_GOAL_MB } },
      { name: 'downloader peak RSS at completed', value: run.peakRssAtCompletedBytes / MB, unit: 'MB', note: 'before it re-indexes the file' },
      { name: `seeder start-up hashing of ${label}`, value: hashMs / 1000, unit: 's' },
      { name: 'download time, POST -> completed', value: run.ms / 1000, unit: 's' },
      {
        name: 'of which finishing (after the last byte)',
        value: run.allBytesMs === null ? 0 : (run.ms - run.allBytesMs) / 1000,
        unit: 's',
        note: 'fdatasync, whole-file SHA-256 and the move into shared_files/, seen by polling every 50 ms',
      },
      {
        name: 'downloader: completed -> listed as local',
        value: run.adoptMs / 1000,
        unit: 's',
        note: `after the timed part; the node hashed the finished file again in ${run.adoptHashMs ?? '?'} ms`,
      },
      {
        name: 'seeder start-up hashing rate',
        value: mbps(options.size, hashMs),
        unit: 'MB/s',
        reference: { label: 'SHA-256 ceiling', value: sha.mbPerSec },
      },
    ],
    details: {
      fileBytes: options.size,
      downloadMs: run.ms,
      downloadRecordMs: run.recordMs,
      downloadAllBytesMs: run.allBytesMs,
      adoptMs: run.adoptMs,
      adoptHashMs: run.adoptHashMs,
      seederStartupMs: seeder.startupMs,
      seederHashMs: hashMs,
      peakRssBytes: peakRss,
      peakRssAtCompletedBytes: run.peakRssAtCompletedBytes,
      peers: run.transfer.peers,
      seederProblems: seeder.problems,
    },
  };
}

async function multiSource(guard: RunGuard, options: Options): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const original = join(guard.tempDir, 'multi-original.bin');
  say(`\nmulti-source: a ${sizeLabel(options.multiSize)} file on ${SEEDER_COUNT} seeders, each capped at ${SEEDER_CAP_BYTES_PER_S / MIB} MiB/s…`);
  const fileId = await writeRandomFile(original, options.multiSize);
  const seeders = [];
  for (let i = 0; i < SEEDER_COUNT; i++) {
    const dir = join(guard.tempDir, `multi-seeder-${i}`);
    await placeCopy(original, join(dir, 'shared_files', FILE_NAME));
    seeders.push(await startSeeder({ dir, uploadLimit: SEEDER_CAP_BYTES_PER_S, guard }));
  }
  const run = await measuredDownload(
    guard,
    'multi-downloader',
    seeders.map((s) => s.node.tcpPort),
    { fileId, fileSize: options.multiSize },
    options.profileDir,
  );
  const peakRss = run.peakRssBytes;
  for (const seeder of seeders) await seeder.node.close();
  const actual = await sha256OfFile(run.destination);
  if (actual !== fileId) throw new Error(`the multi-source download hashes to ${actual}, expected ${fileId}`);

  const aggregate = mbps(options.multiSize, run.ms);
  const cap = SEEDER_CAP_BYTES_PER_S / MB;
  return {
    figures: [
      {
        name: `${SEEDER_COUNT} capped seeders -> 1, ${sizeLabel(options.multiSize)}`,
        value: aggregate,
        unit: 'MB/s',
        reference: { label: 'per-seeder cap R', value: cap },
        goal: { on: 'ratio', atLeast: MULTI_SOURCE_GOAL },
      },
    ],
    details: {
      multiFileBytes: options.multiSize,
      multiDownloadMs: run.ms,
      multiDownloadRecordMs: run.recordMs,
      multiDownloadAllBytesMs: run.allBytesMs,
      multiPeakRssBytes: peakRss,
      multiPeakRssAtCompletedBytes: run.peakRssAtCompletedBytes,
      multiPeers: run.transfer.peers,
      multiSeederProblems: seeders.flatMap((s) => s.problems),
    },
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
