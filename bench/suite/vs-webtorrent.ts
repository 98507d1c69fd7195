/**
 * vs-webtorrent: the same random file node to node, once with two WebTorrent clients (each in its
 * own process, bench/lib/webtorrent-peer.mjs) and once with ours (seeder in this process, downloader
 * a child), in the same run. WebTorrent is timed inside its downloader from `client.add` (given the
 * .torrent, so no metadata exchange) to the torrent's `done` (every piece verified by SHA-1 and
 * written); ours from POST /api/files/download to `completed` (every piece verified, fdatasync,
 * the whole-file SHA-256, the move into shared_files/). Seeding-side hashing is outside both clocks.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseBytes } from '../../bootstrap-node/config.ts';
import { writeRandomFile } from '../lib/files.ts';
import { mbps, say, sizeLabel } from '../lib/report.ts';
import type { RunGuard } from '../lib/run-guard.ts';
import { seededDownload } from '../lib/seeded-download.ts';
import type { Benchmark } from '../lib/suite.ts';

const PEER_SCRIPT = fileURLToPath(new URL('../lib/webtorrent-peer.mjs', import.meta.url));
const REPLY_TIMEOUT_MS = 240_000;

interface WebTorrentPeer {
  /** The next JSON line the peer prints. */
  next<T>(): Promise<T>;
  send(value: unknown): void;
}

function startWebTorrentPeer(guard: RunGuard, args: string[]): WebTorrentPeer {
  const child = spawn(process.execPath, [PEER_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  guard.onCleanup(async () => {
    child.stdin.end('stop\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  const queued: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => (waiting.shift() ?? ((l: string) => queued.push(l)))(line));
  return {
    next<T>() {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from the WebTorrent peer within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
        child.once('exit', (code) => reject(new Error(`the WebTorrent peer exited (${code})`)));
        const take = (line: string) => (clearTimeout(timer), resolve(JSON.parse(line) as T));
        const line = queued.shift();
        if (line !== undefined) take(line);
        else waiting.push(take);
      });
    },
    send: (value) => child.stdin.write(`${JSON.stringify(value)}\n`),
  };
}

async function webTorrentRun(guard: RunGuard, size: number): Promise<{ ms: number }> {
  const file = join(guard.tempDir, 'webtorrent', 'seed', 'bench-random.bin');
  await writeRandomFile(file, size);
  say('WebTorrent: seeding (it hashes the file first, outside the clock)…');
  const seeder = startWebTorrentPeer(guard, ['seed', file]);
  const { torrent, port } = await seeder.next<{ torrent: string; port: number }>();
  say('WebTorrent: downloading…');
  const downloader = startWebTorrentPeer(guard, ['download', join(guard.tempDir, 'webtorrent', 'download'), String(port)]);
  downloader.send({ torrent });
  const done = await downloader.next<{ ms: number; bytes: number }>();
  if (done.bytes !== size) throw new Error(`WebTorrent downloaded ${done.bytes} bytes, expected ${size}`);
  return done;
}

export const vsWebTorrentBenchmark: Benchmark = {
  name: 'vs-webtorrent',
  timeoutMs: (quick) => (quick ? 180_000 : 360_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '128M' : '512M', 'size');
    const theirs = await webTorrentRun(guard, size);
    const theirRate = mbps(size, theirs.ms);
    say(`  WebTorrent: ${theirRate.toFixed(0)} MB/s`);
    const { run } = await seededDownload(guard, { size, transport: 'tcp', profileDir });
    return {
      figure: {
        what: `${sizeLabel(size)} node to node over TCP, ours vs WebTorrent`,
        value: mbps(size, run.ms),
        unit: 'MB/s',
        reference: { label: 'WebTorrent, same file, same run', value: theirRate },
        goal: { on: 'ratio', atLeast: 1 },
      },
      details: { fileBytes: size, webTorrentMs: theirs.ms, oursMs: run.ms },
    };
  },
};
