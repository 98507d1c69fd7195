/**
 * swarm: one seeder capped at R, twelve downloaders starting together. First one downloader alone
 * from the same capped seeder (T1); then twelve, each connected to the seeder and to the downloaders
 * started before it (--connect), their downloads started at once (T12: until the last completes).
 * Goals: the seeder uploads at most 2x the file (the downloaders serve each other the rest), and
 * T12 <= 2 x T1. Seeder upload is the sum over downloaders of the bytes each got from the seeder
 * (the `peers` of their transfer records).
 */
import { join } from 'node:path';
import { parseBytes } from '../../bootstrap-node/config.ts';
import { MIB } from '../lib/ceilings.ts';
import { writeRandomFile } from '../lib/files.ts';
import { DOWNLOAD_TIMEOUT_MS, measuredDownload } from '../lib/measured-download.ts';
import { spawnNodeProcess } from '../lib/node-process.ts';
import type { NodeProcess } from '../lib/node-process.ts';
import { say, sizeLabel } from '../lib/report.ts';
import { FILE_NAME } from '../lib/seeded-download.ts';
import { startSeeder } from '../lib/seeder.ts';
import type { Benchmark } from '../lib/suite.ts';
import { timedDownload, waitForSources } from '../lib/transfer-run.ts';

const DOWNLOADERS = 12;
/** The seeder's cap R: low enough that one downloader alone takes a few seconds. */
const SEEDER_CAP_BYTES_PER_S = 8 * MIB;
const UPLOAD_GOAL_FILES = 2;
const TIME_GOAL_RATIO = 2;

export const swarmBenchmark: Benchmark = {
  name: 'swarm',
  timeoutMs: (quick) => (quick ? 240_000 : 360_000),
  async run({ quick, guard }) {
    const size = parseBytes(quick ? '16M' : '32M', 'size');
    const seederDir = join(guard.tempDir, 'seeder');
    const fileId = await writeRandomFile(join(seederDir, 'shared_files', FILE_NAME), size);
    const seeder = await startSeeder({ dir: seederDir, guard, uploadLimit: SEEDER_CAP_BYTES_PER_S });
    const seederArgs = ['--connect', `127.0.0.1:${seeder.node.tcpPort}`];

    say(`swarm: one downloader alone from the seeder capped at ${SEEDER_CAP_BYTES_PER_S / MIB} MiB/s…`);
    const alone = await measuredDownload(guard, 'alone', { fileId, fileSize: size }, { sourceArgs: seederArgs, sources: 1 });

    say(`swarm: starting ${DOWNLOADERS} downloaders…`);
    const downloaders: NodeProcess[] = [];
    for (let i = 0; i < DOWNLOADERS; i++) {
      const earlier = downloaders.flatMap((d) => ['--connect', `127.0.0.1:${d.tcpPort}`]);
      downloaders.push(await spawnNodeProcess({ guard, dir: join(guard.tempDir, `downloader-${i}`), args: [...seederArgs, ...earlier] }));
    }
    await Promise.all(downloaders.map((d) => waitForSources(d, fileId, 1)));
    say(`swarm: ${DOWNLOADERS} downloads at once…`);
    const runs = await Promise.all(downloaders.map((d) => timedDownload(d, fileId, size, DOWNLOAD_TIMEOUT_MS)));
    await Promise.all(downloaders.map((d) => d.stop()));
    await seeder.node.close();

    const lastMs = Math.max(...runs.map((r) => r.ms));
    const fromSeeder = runs.reduce(
      (sum, r) => sum + (r.transfer.peers ?? []).filter((p) => p.peer_id === seeder.node.peer.id).reduce((s, p) => s + p.bytes, 0),
      0,
    );
    const uploadedFiles = fromSeeder / size;
    return {
      figure: {
        what: `${DOWNLOADERS} downloaders of ${sizeLabel(size)} at once from 1 seeder capped at R: last one's time`,
        value: lastMs / 1000,
        unit: 's',
        reference: { label: 'one downloader alone (s)', value: alone.ms / 1000 },
        goal: { on: 'ratio', atMost: TIME_GOAL_RATIO },
      },
      more: [
        {
          name: 'swarm: seeder upload, in file sizes',
          value: uploadedFiles,
          unit: 'x file',
          goal: { on: 'value', atMost: UPLOAD_GOAL_FILES },
        },
      ],
      details: {
        fileBytes: size,
        capBytesPerSec: SEEDER_CAP_BYTES_PER_S,
        aloneMs: alone.ms,
        downloadMs: runs.map((r) => r.ms),
        seederUploadBytes: fromSeeder,
        // Who each downloader got its bytes from, and which of them timed out: what a late
        // downloader waited for (bench/README.md, sixth session).
        seederPeerId: seeder.node.peer.id,
        downloaders: runs.map((r, i) => ({ peerId: downloaders[i]!.peerId, ms: r.ms, peers: r.transfer.peers ?? [] })),
      },
    };
  },
};
