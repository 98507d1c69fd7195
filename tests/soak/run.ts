import { randomBytes, createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { growthOf, sampleProcess } from './sampler.ts';
import type { Growth } from './sampler.ts';
import { killSoakNode, makeNode, startSoakNode, verifyLanded } from './swarm.ts';
import type { SoakNode } from './swarm.ts';

/**
 * `npm run soak [-- --minutes 2 --nodes 20]`: a swarm of child-process nodes on loopback with churn
 * (random SIGKILLs and restarts on the same data dir) while files move between them. Every completed
 * download is checked against its SHA-256; memory (RSS) and open fds of every node are sampled from
 * /proc, and the report says whether they settle or keep growing. Not part of CI: it takes minutes.
 */
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    minutes: { type: 'string', default: '10' },
    files: { type: 'string', default: '6' },
    'file-mb': { type: 'string', default: '4' },
    'churn-seconds': { type: 'string', default: '20' },
    'sample-seconds': { type: 'string', default: '10' },
    out: { type: 'string' },
    'keep-files': { type: 'boolean', default: false },
  },
});
/** Without --keep-files a verified copy is deleted again, so files keep moving for the whole run. */
const KEEP_FILES = values['keep-files'];
const NODES = Number(values.nodes);
const RUN_MS = Number(values.minutes) * 60_000;
const FILES = Math.min(Number(values.files), NODES);
const FILE_BYTES = Number(values['file-mb']) * 1024 * 1024;
const CHURN_MS = Number(values['churn-seconds']) * 1000;
const SAMPLE_MS = Number(values['sample-seconds']) * 1000;
/** A new download is asked for this often, of a random file by a random live node that lacks it. */
const REQUEST_EVERY_MS = 1_000;
const POLL_EVERY_MS = 3_000;
/** A killed node is restarted after 3 to 8 s: long enough for its neighbours to notice it is gone. */
const RESTART_MIN_MS = 3_000;
const RESTART_SPREAD_MS = 5_000;
/** Churn never takes more than this many nodes down at once. */
const MAX_DOWN = 3;
/** Each node dials this many nodes started before it. */
const DIALS_PER_NODE = 3;
/** Nodes started at once: a node takes a few seconds to start on a busy machine. */
const START_BATCH = 5;

/** The first node of i's start batch: [0], [1..5], [6..10], ... */
const batchStartOf = (i: number) => (i === 0 ? 0 : i - ((i - 1) % START_BATCH));
const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const counts = { requested: 0, refused: 0, completed: 0, verified: 0, corrupt: 0, failed: 0, kills: 0, restarts: 0 };
const corrupt: string[] = [];
/** Why transfers failed, with how often: under churn a download whose sources all died fails after the stall timeout. */
const failures = new Map<string, number>();

async function main(): Promise<void> {
  console.log(`soak: ${NODES} nodes, ${FILES} files of ${FILE_BYTES / 2 ** 20} MiB, ${RUN_MS / 60_000} min, churn every ${CHURN_MS / 1000} s`);
  const nodes: SoakNode[] = [];
  for (let i = 0; i < NODES; i++) {
    // Node 0 starts alone, then the others in batches; each dials nodes of earlier batches, which are
    // listening already.
    const batchStart = batchStartOf(i);
    const earlier = Array.from({ length: batchStart }, (_, k) => k).sort(() => Math.random() - 0.5);
    nodes.push(await makeNode(i, earlier.slice(0, DIALS_PER_NODE)));
  }
  const fileIds: string[] = [];
  for (let f = 0; f < FILES; f++) {
    const data = randomBytes(FILE_BYTES);
    fileIds.push(createHash('sha256').update(data).digest('hex'));
    await mkdir(join(nodes[f]!.dir, 'shared_files'), { recursive: true });
    await writeFile(join(nodes[f]!.dir, 'shared_files', `soak-${f}.bin`), data);
  }
  for (let i = 0; i < NODES; i = i === 0 ? 1 : i + START_BATCH) {
    await Promise.all(nodes.slice(i, i === 0 ? 1 : i + START_BATCH).map((node) => startSoakNode(node, nodes)));
  }
  console.log(`[${elapsed()}] all ${NODES} nodes up`);

  /** Per node, the files it asked for (retried after a failure) and the transfers already counted. */
  const asked = nodes.map(() => new Set<string>());
  const counted = new Set<string>();
  const restarts = new Set<Promise<void>>();
  let running = true;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));

  const api = async (node: SoakNode, path: string, body?: unknown, method?: string) => {
    const p = node.process;
    if (!p) return null;
    try {
      if (method === 'DELETE') {
        const response = await fetch(`${p.apiUrl}${path}`, { method });
        return { status: response.status, body: await response.json().catch(() => null) };
      }
      return await p.api(path, body);
    } catch {
      return null; // killed by the churn meanwhile
    }
  };

  const every = (ms: number, task: () => Promise<void>) =>
    (async () => {
      while (running) {
        await task().catch((err) => console.error(`[${elapsed()}] soak task failed:`, err));
        await new Promise<void>((resolve) => {
          // Cleared on stop, so a long churn interval neither delays the report nor keeps the process alive.
          const timer = setTimeout(resolve, ms);
          void stopped.then(() => (clearTimeout(timer), resolve()));
        });
      }
    })();

  const loops = [
    every(REQUEST_EVERY_MS, async () => {
      const live = nodes.filter((n) => n.process);
      const node = pick(live);
      if (!node) return;
      const fileId = pick(fileIds.filter((id, f) => f !== node.index && !asked[node.index]!.has(id)));
      if (!fileId) return;
      const response = await api(node, '/api/files/download', { file_id: fileId });
      if (response?.status === 200) {
        asked[node.index]!.add(fileId);
        counts.requested++;
      } else counts.refused++; // not offered to it yet (no peer has it connected): asked again later
    }),
    every(POLL_EVERY_MS, async () => {
      for (const node of nodes) {
        const response = await api(node, '/api/files/transfers');
        for (const t of response?.body?.transfers ?? []) {
          const key = `${node.index}:${t.transfer_id}`;
          if (counted.has(key)) continue;
          if (t.status === 'completed') {
            counted.add(key);
            counts.completed++;
            if (await verifyLanded(node, t)) {
              counts.verified++;
              if (KEEP_FILES) continue;
              // Deleted again so that files keep moving for the whole run: it will be asked for anew.
              // (A peer downloading from this copy loses a source; with no other one in reach it fails.)
              const removed = await api(node, `/api/files/${t.file_id}?delete=true`, undefined, 'DELETE');
              if (removed?.status === 200) asked[node.index]!.delete(t.file_id);
            } else {
              counts.corrupt++;
              corrupt.push(`node ${node.index}: ${t.file_name} (${t.file_id})`);
            }
          } else if (t.status === 'failed') {
            counted.add(key);
            counts.failed++;
            const reason = String(t.error).replace(/[0-9a-f]{64}/g, '<file>').replace(/\d+/g, 'N');
            failures.set(reason, (failures.get(reason) ?? 0) + 1);
            asked[node.index]!.delete(t.file_id);
          }
        }
      }
    }),
    every(CHURN_MS, async () => {
      const live = nodes.filter((n) => n.process);
      if (NODES - live.length >= MAX_DOWN || Date.now() - started < CHURN_MS) return;
      const victim = pick(live)!;
      await killSoakNode(victim);
      counts.kills++;
      const delay = RESTART_MIN_MS + Math.random() * RESTART_SPREAD_MS;
      const restart = sleep(delay)
        .then(() => startSoakNode(victim, nodes))
        .then(() => {
          victim.restarts++;
          counts.restarts++;
        })
        .catch((err) => console.error(`[${elapsed()}] restart of node ${victim.index} failed:`, err));
      restarts.add(restart);
      void restart.finally(() => restarts.delete(restart));
    }),
    every(SAMPLE_MS, async () => {
      for (const node of nodes) {
        const pid = node.process?.child.pid;
        if (pid === undefined) continue;
        const sample = await sampleProcess(pid, Date.now() - started);
        if (sample) node.lives[node.lives.length - 1]!.push(sample);
      }
      console.log(`[${elapsed()}] ${JSON.stringify(counts)}`);
    }),
  ];

  await sleep(RUN_MS);
  running = false;
  stop();
  await Promise.all(loops);
  await Promise.all(restarts);
  await Promise.all(nodes.map(killSoakNode));
  report(nodes);
  if (values.out) await writeFile(values.out, JSON.stringify({ counts, corrupt, nodes: nodes.map(({ index, restarts: r, lives }) => ({ index, restarts: r, lives })) }, null, 1));
  await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  process.exitCode = counts.corrupt > 0 || counts.verified === 0 ? 1 : 0;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function report(nodes: SoakNode[]): void {
  console.log('\nnode life  span   RSS MiB settled→last (max, late growth)   fds settled→last (max, late growth)');
  const growths: Growth[] = [];
  for (const node of nodes) {
    node.lives.forEach((samples, life) => {
      const g = growthOf(samples);
      if (!g) return;
      growths.push(g);
      console.log(
        `${String(node.index).padStart(4)} ${String(life).padStart(4)} ${(g.spanMs / 1000).toFixed(0).padStart(5)} s  ` +
          `${mib(g.rssSettledBytes)}→${mib(g.rssLastBytes)} (${mib(g.rssMaxBytes)}, ${g.rssLateGrowthBytes >= 0 ? '+' : ''}${mib(g.rssLateGrowthBytes)})`.padEnd(40) +
          `${g.fdsSettled}→${g.fdsLast} (${g.fdsMax}, ${g.fdsLateGrowth >= 0 ? '+' : ''}${g.fdsLateGrowth.toFixed(1)})`,
      );
    });
  }
  const worst = (f: (g: Growth) => number) => Math.max(0, ...growths.map(f));
  console.log(`\ntransfers: ${JSON.stringify(counts)}`);
  console.log(`run: ${elapsed()} in all, churn and downloads for ${RUN_MS / 1000} s after start-up`);
  if (corrupt.length) console.log(`CORRUPT files: ${corrupt.join('; ')}`);
  for (const [reason, times] of failures) console.log(`failed ${times}x: ${reason}`);
  console.log(`lives measured: ${growths.length}; RSS max ${mib(worst((g) => g.rssMaxBytes))} MiB; fds max ${worst((g) => g.fdsMax)}`);
  console.log(`worst late growth (mean of last third minus middle third of one life): RSS +${mib(worst((g) => g.rssLateGrowthBytes))} MiB, fds +${worst((g) => g.fdsLateGrowth).toFixed(1)}`);
}

await main();
