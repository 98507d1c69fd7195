/**
 * chat-under-load: chat round trips over the connection a download is saturating. The seeder (in
 * this process) sends texts to the downloader, one after the other, for as long as the download
 * runs; each round trip is timed from `messaging.send` to the seeder's history marking the text
 * delivered (the downloader's `ack` arrived), so it includes queueing behind the chunk frames the
 * seeder is sending on the same connection.
 */
import { parseBytes } from '../../bootstrap-node/config.ts';
import { performance } from 'node:perf_hooks';
import { mbps, sizeLabel } from '../lib/report.ts';
import { seededDownload } from '../lib/seeded-download.ts';
import type { Seeder } from '../lib/seeder.ts';
import type { NodeProcess } from '../lib/node-process.ts';
import type { Benchmark } from '../lib/suite.ts';

const P99_GOAL_MS = 50;
/** A pause between round trips, so chat stays chat-like (a few texts a second is plenty; this is more). */
const GAP_MS = 20;
/** A round trip that takes longer than this is counted as this (and the run goes on). */
const ROUND_TRIP_LIMIT_MS = 10_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** The round trips of one run, in the order they were sent (so a slow one can be placed in the download). */
interface RoundTrips {
  /** Each round trip, ms. */
  ms: number[];
  /** When each was sent, ms after the first. */
  sentAtMs: number[];
}

/** Round trips from `seeder` to `downloader`, one after the other, until the download ends. */
function roundTrips(seeder: Seeder) {
  return async (downloader: NodeProcess) => {
    const delivered = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const off = seeder.node.history.on('delivered', (id) => {
      delivered.set(id, performance.now());
      waiters.get(id)?.();
    });
    const times: number[] = [];
    const sentAtMs: number[] = [];
    let stop = false;
    let firstSentAt: number | undefined;
    const done = waitForTransferEnd(downloader).finally(() => (stop = true));
    try {
      while (!stop) {
        const sentAt = performance.now();
        const entry = await seeder.node.messaging.send(`round trip ${times.length}`, downloader.peerId);
        const id = entry.payload.message_id;
        if (!delivered.has(id)) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ROUND_TRIP_LIMIT_MS);
            waiters.set(id, () => (clearTimeout(timer), resolve()));
          });
        }
        waiters.delete(id);
        times.push((delivered.get(id) ?? sentAt + ROUND_TRIP_LIMIT_MS) - sentAt);
        sentAtMs.push(sentAt - (firstSentAt ??= sentAt));
        await new Promise((r) => setTimeout(r, GAP_MS));
      }
    } finally {
      off();
      await done;
    }
    return { ms: times, sentAtMs } satisfies RoundTrips;
  };
}

/** Resolves when the downloader has no running transfer any more (after one has started). */
async function waitForTransferEnd(downloader: NodeProcess): Promise<void> {
  let seen = false;
  for (;;) {
    const { transfers } = await downloader.api<{ transfers: { status: string }[] }>('/api/files/transfers');
    const running = transfers.some((t) => t.status === 'running' || t.status === 'pending');
    if (running) seen = true;
    else if (seen || transfers.length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const chatUnderLoadBenchmark: Benchmark = {
  name: 'chat-under-load',
  timeoutMs: (quick) => (quick ? 150_000 : 300_000),
  async run({ quick, profileDir, guard }) {
    // Long enough for 100 and more round trips: a p99 of fewer than 100 is the slowest one alone.
    const size = parseBytes(quick ? '256M' : '1G', 'size');
    const { run } = await seededDownload(guard, { size, transport: 'tcp', profileDir, during: roundTrips });
    const sent = run.during as RoundTrips;
    const times = sent.ms.slice().sort((a, b) => a - b);
    if (times.length === 0) throw new Error('no round trip completed while the download ran');
    return {
      figure: { what: `p99 chat round trip during a ${sizeLabel(size)} TCP download`, value: percentile(times, 99), unit: 'ms', goal: { on: 'value', below: P99_GOAL_MS } },
      more: [
        { name: 'chat-under-load: median round trip', value: percentile(times, 50), unit: 'ms' },
        { name: 'chat-under-load: slowest round trip', value: times[times.length - 1]!, unit: 'ms' },
        { name: 'chat-under-load: round trips', value: times.length, unit: '' },
        { name: 'chat-under-load: transfer rate meanwhile', value: mbps(size, run.ms), unit: 'MB/s' },
      ],
      details: { roundTripsMs: sent.ms, sentAtMs: sent.sentAtMs, downloadMs: run.ms },
    };
  },
};
