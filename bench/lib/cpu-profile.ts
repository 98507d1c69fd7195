/**
 * Reads a V8 .cpuprofile (written by `node --cpu-prof`, or taken in this process through the
 * inspector) and lists where the time went: self time per function (time spent in the function's own
 * code, not its callees), summed over every place the function appears in the call tree.
 *
 * A window (microseconds of the monotonic clock, the clock of process.hrtime and of V8's sample
 * timestamps) keeps only the samples taken while the transfer ran, not the start-up or shutdown.
 */
import { Session } from 'node:inspector/promises';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds of the monotonic clock, from when to when. */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Now, in the time base of V8 profile samples. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  percent: number;
}

const ROOT = new URL('../../', import.meta.url).pathname;

function describe(frame: ProfileNode['callFrame']): { fn: string; where: string } {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return { fn, where: '' };
  const path = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
  const shown = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return { fn, where: `${shown}:${frame.lineNumber + 1}` };
}

/** Self time per function, highest first; `totalMs` is the profile's whole sampled time. */
export function selfTimes(profile: CpuProfile, window?: ProfileWindow): { totalMs: number; rows: SelfTime[] } {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  let at = profile.startTime;
  profile.samples.forEach((nodeId, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const node = byNode.get(nodeId);
    if (!node) return;
    totalUs += delta;
    const { fn, where } = describe(node.callFrame);
    const key = `${fn}@${where}`;
    const entry = micros.get(key) ?? { fn, where, us: 0 };
    entry.us += delta;
    micros.set(key, entry);
  });
  const rows = [...micros.values()]
    .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, percent: totalUs ? (100 * e.us) / totalUs : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1000, rows };
}

/**
 * The top `count` self-time functions of every .cpuprofile in `dir` (one per thread of a process),
 * as text; threads with nothing sampled in the window are left out.
 */
export async function summarizeProfiles(dir: string, options: { count?: number; window?: ProfileWindow } = {}): Promise<string> {
  const count = options.count ?? 25;
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile'));
  const parts: string[] = [];
  for (const name of names) {
    const profile = JSON.parse(await readFile(join(dir, name), 'utf8')) as CpuProfile;
    const { totalMs, rows } = selfTimes(profile, options.window);
    if (totalMs === 0) continue;
    const busy = rows.filter((r) => r.fn !== '(idle)').reduce((sum, r) => sum + r.ms, 0);
    parts.push(`${join(dir, name)}: ${totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms not idle; top ${count} by self time:`);
    for (const row of rows.slice(0, count)) {
      parts.push(`  ${row.percent.toFixed(1).padStart(5)} %  ${row.ms.toFixed(0).padStart(7)} ms  ${row.fn}  ${row.where}`);
    }
  }
  return parts.join('\n');
}

/**
 * Profiles this very process (the in-process seeders) through the inspector, from now until the
 * returned stop(), which writes the profile into `dir` and returns its path.
 */
export async function profileThisProcess(dir: string): Promise<{ stop(): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await mkdir(dir, { recursive: true });
      const path = join(dir, `bench-process-${Date.now()}.cpuprofile`);
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
  };
}
