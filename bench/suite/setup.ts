/**
 * setup: two nodes connected over WebRTC through signalling. A node starts with --no-tcp and
 * --bootstrap the other's /signal; its own "WebRTC link open" log line says how long the link took
 * from creating the peer connection (offer or answer) to the data channel open (setupMs). Also
 * timed here: from the node's "listening" line to the link being listed by /api/peers/connected.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnNodeProcess } from '../lib/node-process.ts';
import { say } from '../lib/report.ts';
import { startSeeder } from '../lib/seeder.ts';
import type { Benchmark } from '../lib/suite.ts';

const GOAL_S = 1;
const LINK_TIMEOUT_MS = 30_000;
const POLL_MS = 10;

export const setupBenchmark: Benchmark = {
  name: 'setup',
  timeoutMs: (quick) => (quick ? 90_000 : 180_000),
  async run({ quick, guard }) {
    const attempts = quick ? 1 : 3;
    const host = await startSeeder({ dir: join(guard.tempDir, 'host'), guard });
    const linkMs: number[] = [];
    const apiMs: number[] = [];
    for (let i = 0; i < attempts; i++) {
      const node = await spawnNodeProcess({ guard, dir: join(guard.tempDir, `joiner-${i}`), args: ['--no-tcp', '--bootstrap', host.node.signalUrl] });
      const startedAt = performance.now();
      for (;;) {
        const { peers } = await node.api<{ peers: { peer_id: string }[] }>('/api/peers/connected');
        if (peers.some((p) => p.peer_id === host.node.peer.id)) break;
        if (performance.now() - startedAt > LINK_TIMEOUT_MS) throw new Error(`no WebRTC link within ${LINK_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      apiMs.push(performance.now() - startedAt);
      const open = await node.logLines('WebRTC link open');
      const setupMs = Number(open[0]?.setupMs ?? NaN);
      linkMs.push(setupMs);
      say(`  link ${i + 1}: setupMs ${setupMs} ms; listening -> listed ${apiMs.at(-1)!.toFixed(0)} ms`);
      await node.stop();
    }
    await host.node.close();
    const worst = Math.max(...linkMs);
    return {
      figure: { what: 'two nodes over WebRTC via signalling, offer -> channel open (worst of runs)', value: worst / 1000, unit: 's', goal: { on: 'value', below: GOAL_S } },
      more: [{ name: 'setup: node listening -> link listed (worst)', value: Math.max(...apiMs) / 1000, unit: 's' }],
      details: { setupMs: linkMs, listeningToListedMs: apiMs },
    };
  },
};
