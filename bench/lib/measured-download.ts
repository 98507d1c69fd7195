/**
 * A downloader node in a child process, timed through its REST API: the step every transfer
 * benchmark shares. With a profile dir, the child runs under --cpu-prof and this process (where the
 * seeders live) under the inspector's profiler, both summarised over the timed window only.
 */
import { dirname, join } from 'node:path';
import { monotonicMicros, profileThisProcess, summarizeProfiles } from './cpu-profile.ts';
import { formatUsage, snapshotUsage, usageBetween } from './process-usage.ts';
import type { PhaseUsage } from './process-usage.ts';
import { spawnNodeProcess } from './node-process.ts';
import type { NodeProcess } from './node-process.ts';
import { say } from './report.ts';
import type { RunGuard } from './run-guard.ts';
import { timedDownload, waitForLocal, waitForSources } from './transfer-run.ts';
import type { TimedDownload } from './transfer-run.ts';

/** No single download of a benchmark should take longer than this, however slow the machine. */
export const DOWNLOAD_TIMEOUT_MS = 300_000;

export interface MeasuredDownload extends TimedDownload {
  peakRssBytes: number;
  /** Peak RSS when the download completed, before the node re-indexed the file. */
  peakRssAtCompletedBytes: number;
  /** From `completed` to the file being listed as local, ms. */
  adoptMs: number;
  /** The node's own "hashed a shared file" time for the downloaded file, ms, if it logged one. */
  adoptHashMs: number | null;
  /** CPU per thread, page faults and UDP drops of this process and its children over the timed window. */
  usage: PhaseUsage;
}

export interface DownloaderOptions {
  /** Node CLI flags that say how it finds its sources (--connect …, or --no-tcp --bootstrap …). */
  sourceArgs: string[];
  /** How many peers must offer the file before the clock starts. */
  sources: number;
  profileDir?: string | null;
  /** Runs while the download is under way (e.g. chat round trips over the same connection). */
  during?: (downloader: NodeProcess) => Promise<unknown>;
}

/** Starts a downloader child, times its download of `fileId`, waits until it lists the file, stops it. */
export async function measuredDownload(
  guard: RunGuard,
  name: string,
  file: { fileId: string; fileSize: number },
  options: DownloaderOptions,
): Promise<MeasuredDownload & { during: unknown }> {
  const { profileDir = null } = options;
  const downloader = await spawnNodeProcess({
    guard,
    dir: join(guard.tempDir, name),
    args: options.sourceArgs,
    runtimeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [],
  });
  const { fileId, fileSize } = file;
  await waitForSources(downloader, fileId, options.sources);
  say('downloading…');
  const seederProfile = profileDir ? await profileThisProcess(join(profileDir, `${name}-seeders`)) : null;
  const window = { fromUs: monotonicMicros(), toUs: 0 };
  const usageStart = snapshotUsage();
  const downloading = timedDownload(downloader, fileId, fileSize, DOWNLOAD_TIMEOUT_MS);
  const [run, during] = await Promise.all([downloading, options.during?.(downloader)]);
  window.toUs = monotonicMicros();
  const usage = usageBetween(usageStart, snapshotUsage());
  say(`  during the download (this process, with its seeders, and the downloader):\n${formatUsage(usage)}`);
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
  return { ...run, peakRssBytes, peakRssAtCompletedBytes, adoptMs, adoptHashMs: adoptHash ? Number(adoptHash.ms) : null, usage, during };
}
