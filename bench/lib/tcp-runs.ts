/**
 * The TCP transfer runs of the benchmarks: one seeder to one downloader (against the ceilings), and
 * three capped seeders to one downloader (against the cap). See bench/README.md.
 */
import { join } from 'node:path';
import { lowestCeiling } from './ceilings.ts';
import type { Ceiling } from './ceilings.ts';
import { MB, MIB } from './ceilings.ts';
import { placeCopy, sha256OfFile, writeRandomFile } from './files.ts';
import { measuredDownload } from './measured-download.ts';
import { mbps, say, sizeLabel } from './report.ts';
import type { Figure } from './report.ts';
import type { PhaseUsage } from './process-usage.ts';
import type { RunGuard } from './run-guard.ts';
import { seededDownload, FILE_NAME } from './seeded-download.ts';
import { startSeeder } from './seeder.ts';
import { measureStageFloor } from './stage-costs.ts';
import type { StageFloor } from './stage-costs.ts';

/** WebTorrent node to node over TCP on this machine: 512 MiB at about this rate (the figure). */
const WEBTORRENT_MB_PER_S = 160;
const RATIO_GOAL = 0.5;
export const PEAK_RSS_GOAL_MB = 200;
/** Per-seeder cap of the multi-source run, and what the download should reach with three of them. */
export const SEEDER_CAP_BYTES_PER_S = 16 * MIB;
const SEEDER_COUNT = 3;
const MULTI_SOURCE_GOAL = 2.7;

export interface BenchPart {
  figures: Figure[];
  details: Record<string, unknown>;
}

export async function singleSource(guard: RunGuard, options: { size: number; profileDir: string | null }, ceilings: Ceiling[]): Promise<BenchPart> {
  const { run, seeder, hashMs } = await seededDownload(guard, { size: options.size, transport: 'tcp', profileDir: options.profileDir });
  const peakRss = run.peakRssBytes;

  const throughput = mbps(options.size, run.ms);
  const lowest = lowestCeiling(ceilings);
  const label = sizeLabel(options.size);
  const sha = ceilings.find((c) => c.name.startsWith('SHA-256'))!;
  // After the download, so that the download meets the machine as it did before this was measured.
  say(`what the stages no verified, encrypted transfer can skip cost in CPU (measured after the download)…`);
  const floor = await measureStageFloor(guard.tempDir, options.size, sha);
  say(describeFloor(floor, run.usage));
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
      {
        name: "against the stages' CPU bound",
        value: throughput,
        unit: 'MB/s',
        reference: { label: `stages alone on ${floor.cores} cores`, value: floor.boundMbPerSec },
        inTable: true,
        note: 'the most the CPU that its unavoidable stages need allows on this machine (bench/lib/stage-costs.ts)',
      },
      {
        name: 'download CPU, all processes',
        value: run.usage.cpuS,
        unit: 's',
        reference: { label: 'the stages alone', value: floor.cpuS },
        note: `over ${run.usage.wallS.toFixed(1)} s of the download: ${(run.usage.cpuS / run.usage.wallS).toFixed(2)} cores`,
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
      stageFloor: floor,
      downloadUsage: run.usage,
    },
  };
}

/** Two lines: what each stage cost, and what that leaves any transfer here against what the download used. */
function describeFloor(floor: StageFloor, usage: PhaseUsage): string {
  const stages = floor.stages.map((s) => `${s.name} ${s.cpuS.toFixed(2)} s`).join(', ');
  const writes = `writes as a download makes them ran at ${floor.writeMbPerSec.toFixed(0)} MB/s`;
  return [
    `  ${stages}: ${floor.cpuS.toFixed(2)} CPU-s for ${sizeLabel(floor.bytes)} (${writes})`,
    `  so on ${floor.cores} cores nothing doing these stages beats ${floor.boundMbPerSec.toFixed(0)} MB/s here;` +
      ` the download used ${usage.cpuS.toFixed(1)} CPU-s at ${(usage.cpuS / usage.wallS).toFixed(2)} cores`,
  ].join('\n');
}

export async function multiSource(guard: RunGuard, options: { multiSize: number; profileDir: string | null }): Promise<BenchPart> {
  const original = join(guard.tempDir, 'multi-original.bin');
  say(`\nmulti-source: a ${sizeLabel(options.multiSize)} file on ${SEEDER_COUNT} seeders, each capped at ${SEEDER_CAP_BYTES_PER_S / MIB} MiB/s…`);
  const fileId = await writeRandomFile(original, options.multiSize);
  const seeders = [];
  for (let i = 0; i < SEEDER_COUNT; i++) {
    const dir = join(guard.tempDir, `multi-seeder-${i}`);
    await placeCopy(original, join(dir, 'shared_files', FILE_NAME));
    seeders.push(await startSeeder({ dir, uploadLimit: SEEDER_CAP_BYTES_PER_S, guard }));
  }
  const run = await measuredDownload(guard, 'multi-downloader', { fileId, fileSize: options.multiSize }, {
    sourceArgs: seeders.flatMap((s) => ['--connect', `127.0.0.1:${s.node.tcpPort}`]),
    sources: seeders.length,
    profileDir: options.profileDir,
  });
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

