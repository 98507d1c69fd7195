/**
 * standard-peer: a node downloads a file from a peer of the standard protocol (the test suite's
 * standard peer, in this process), which sends 1 MiB chunks base64-encoded in JSON. A reference
 * figure for bridging, with no goal: timed from POST /api/files/download to `completed`.
 */
import { randomFillSync } from 'node:crypto';
import { parseBytes } from '../../bootstrap-node/config.ts';
import { StandardPeer } from '../../tests/support/standard-peer.ts';
import { sha256OfFile } from '../lib/files.ts';
import { measuredDownload } from '../lib/measured-download.ts';
import { mbps, sizeLabel } from '../lib/report.ts';
import type { Benchmark } from '../lib/suite.ts';

export const standardPeerBenchmark: Benchmark = {
  name: 'standard-peer',
  timeoutMs: (quick) => (quick ? 120_000 : 180_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '32M' : '64M', 'size');
    const data = randomFillSync(Buffer.allocUnsafe(size));
    const peer = await StandardPeer.start({ sharedFiles: [{ name: 'bench-random.bin', data }] });
    guard.onCleanup(() => peer.close());
    const fileId = peer.sharedManifests()[0]!.file_id;
    const run = await measuredDownload(guard, 'downloader', { fileId, fileSize: size }, {
      sourceArgs: ['--connect', `127.0.0.1:${peer.port}`],
      sources: 1,
      profileDir,
    });
    if ((await sha256OfFile(run.destination)) !== fileId) throw new Error('the file from the standard peer does not match its id');
    return {
      figure: { what: `${sizeLabel(size)} from a standard-protocol peer (1 MiB base64 chunks)`, value: mbps(size, run.ms), unit: 'MB/s' },
      details: { fileBytes: size, downloadMs: run.ms, chunkBytesServed: peer.bytesServed },
    };
  },
};
