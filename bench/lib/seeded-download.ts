/**
 * One seeder (in this process) and one downloader (a child process), over TCP or over WebRTC: the
 * random file is written, seeded, downloaded, checked against its id outside the clock, deleted.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256OfFile, writeRandomFile } from './files.ts';
import { measuredDownload } from './measured-download.ts';
import type { DownloaderOptions, MeasuredDownload } from './measured-download.ts';
import { mbps, say, sizeLabel } from './report.ts';
import type { RunGuard } from './run-guard.ts';
import { startSeeder } from './seeder.ts';
import type { Seeder } from './seeder.ts';

export const FILE_NAME = 'bench-random.bin';

export interface SeededDownload {
  fileId: string;
  run: MeasuredDownload & { during: unknown };
  seeder: Seeder;
  /** The seeder's hashing of the file at start-up, ms. */
  hashMs: number;
}

export interface SeededDownloadOptions {
  size: number;
  /** 'webrtc': the downloader runs with --no-tcp and --bootstrap the seeder's /signal. */
  transport: 'tcp' | 'webrtc';
  profileDir?: string | null;
  uploadLimit?: number;
  /** Runs while the download is under way, given the in-process seeder and the downloader. */
  during?: (seeder: Seeder) => DownloaderOptions['during'];
  /** Keep the downloaded file (for a later comparison); default: deleted after the check. */
  keepFile?: boolean;
}

export async function seededDownload(guard: RunGuard, options: SeededDownloadOptions): Promise<SeededDownload> {
  const seederDir = join(guard.tempDir, 'seeder');
  const source = join(seederDir, 'shared_files', FILE_NAME);
  say(`writing a ${sizeLabel(options.size)} random file…`);
  const fileId = await writeRandomFile(source, options.size);

  say('starting the seeder (in this process; it hashes the file at start-up)…');
  const seeder = await startSeeder({ dir: seederDir, guard, uploadLimit: options.uploadLimit });
  const hashMs = seeder.hashMs[0] ?? seeder.startupMs;
  say(`  hashed in ${(hashMs / 1000).toFixed(2)} s (${mbps(options.size, hashMs).toFixed(0)} MB/s); start-up ${(seeder.startupMs / 1000).toFixed(2)} s`);

  say(`starting the downloader (child process through bin/swarmdrop.mjs, over ${options.transport})…`);
  const sourceArgs =
    options.transport === 'tcp' ? ['--connect', `127.0.0.1:${seeder.node.tcpPort}`] : ['--no-tcp', '--bootstrap', seeder.node.signalUrl];
  const run = await measuredDownload(guard, 'downloader', { fileId, fileSize: options.size }, {
    sourceArgs,
    sources: 1,
    profileDir: options.profileDir,
    during: options.during?.(seeder),
  });
  await seeder.node.close();

  say('checking the downloaded file against its id (outside the clock)…');
  const actual = await sha256OfFile(run.destination);
  if (actual !== fileId) throw new Error(`the downloaded file hashes to ${actual}, expected ${fileId}`);
  await rm(run.destination, { force: true });
  await rm(source, { force: true });
  return { fileId, run, seeder, hashMs };
}
