/**
 * A seeding node inside the benchmark's own process (its memory is not what is measured), with
 * the few log lines the benchmark reads kept in memory and the rest dropped.
 */
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { loopbackConfig } from '../../bootstrap-node/config.ts';
import { startNode } from '../../bootstrap-node/node.ts';
import type { RunningNode } from '../../bootstrap-node/node.ts';
import type { RunGuard } from './run-guard.ts';

/** Log lines the benchmark reports from; everything else is dropped unread. */
const KEPT_MESSAGES = new Set(['hashed a shared file', 'shared files indexed']);

export interface Seeder {
  node: RunningNode;
  /** Wall time of startNode, which includes hashing everything in shared_files. */
  startupMs: number;
  /** The `ms` of the "hashed a shared file" lines: the hashing itself. */
  hashMs: number[];
  /** The warn/error lines logged while running (a seeder that refuses to serve says why here). */
  problems: Record<string, unknown>[];
}

export async function startSeeder(options: { dir: string; uploadLimit?: number; guard: RunGuard }): Promise<Seeder> {
  const kept: Record<string, unknown>[] = [];
  const problems: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (KEPT_MESSAGES.has(String(line.msg))) kept.push(line);
        else if (typeof line.level === 'number' && line.level >= 40 && problems.length < 100) problems.push(line);
      }
      done();
    },
  });
  const log = pino({ level: 'info', base: undefined }, sink);
  const config = loopbackConfig({ dir: options.dir, logToStdout: false, uploadLimit: options.uploadLimit ?? 0 });
  const startedAt = performance.now();
  const node = await startNode(config, { log });
  options.guard.onCleanup(() => node.close());
  // The node indexes shared_files/ in the background; a seeder is ready once that is done.
  while (!kept.some((l) => l.msg === 'shared files indexed')) await new Promise((r) => setTimeout(r, 20));
  const startupMs = performance.now() - startedAt;
  const hashMs = kept.filter((l) => l.msg === 'hashed a shared file').map((l) => Number(l.ms));
  return { node, startupMs, hashMs, problems };
}
