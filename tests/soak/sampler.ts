import { readdir, readFile } from 'node:fs/promises';

/**
 * Samples a process's resident memory and open file descriptors from /proc (Linux), and summarises
 * how they moved over a process's life, to tell a level that settles from one that keeps growing.
 */
export interface Sample {
  atMs: number;
  rssBytes: number;
  fds: number;
}

export async function sampleProcess(pid: number, atMs: number): Promise<Sample | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return Number.isFinite(rssKb) ? { atMs, rssBytes: rssKb * 1024, fds } : null;
  } catch {
    return null; // the process is gone (killed by the churn between listing and reading)
  }
}

export interface Growth {
  spanMs: number;
  samples: number;
  rssSettledBytes: number;
  rssLastBytes: number;
  rssMaxBytes: number;
  fdsSettled: number;
  fdsLast: number;
  fdsMax: number;
  /** Mean of the last third minus mean of the middle third: positive and large means still growing. */
  rssLateGrowthBytes: number;
  fdsLateGrowth: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/**
 * Growth over one process's life. The first third is start-up (indexing, first links, first
 * downloads) and is left out of "settled"; what counts is whether the last third sits above the middle.
 */
export function growthOf(samples: Sample[]): Growth | null {
  if (samples.length < 6) return null;
  const third = Math.floor(samples.length / 3);
  const middle = samples.slice(third, 2 * third);
  const late = samples.slice(2 * third);
  const settled = samples[third]!;
  const last = samples[samples.length - 1]!;
  return {
    spanMs: last.atMs - samples[0]!.atMs,
    samples: samples.length,
    rssSettledBytes: settled.rssBytes,
    rssLastBytes: last.rssBytes,
    rssMaxBytes: Math.max(...samples.map((s) => s.rssBytes)),
    fdsSettled: settled.fds,
    fdsLast: last.fds,
    fdsMax: Math.max(...samples.map((s) => s.fds)),
    rssLateGrowthBytes: mean(late.map((s) => s.rssBytes)) - mean(middle.map((s) => s.rssBytes)),
    fdsLateGrowth: mean(late.map((s) => s.fds)) - mean(middle.map((s) => s.fds)),
  };
}
