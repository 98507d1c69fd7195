/**
 * Where the CPU of a phase went, across processes: CPU time and minor page faults of this process
 * and its descendants (Chromium's processes are children of this one), per thread, read from /proc;
 * and the UDP datagrams this network namespace dropped because a socket's receive buffer was full.
 * A snapshot before and after a phase gives what each thread did in it.
 *
 * Why the browser benchmark prints it: its two phases (the raw pump, our download) run on the same two
 * cores, and a CPU profile shows one thread at a time, while what decides the rate is how busy all of
 * them are together (bench/README.md, "what bounds the browser row"). Reading /proc is cheap enough
 * to do on every run; where there is no /proc (not Linux), the snapshots are empty.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports CPU time in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** The row of a process's threads that ended during the phase (its total minus its live threads). */
const ENDED_THREADS = '(threads that ended)';
/** Threads that used less than this in a phase are left out of the printed line (not the totals). */
const PRINT_MIN_CPU_S = 0.1;

interface ThreadSample {
  process: string;
  thread: string;
  cpuS: number;
  minorFaults: number;
}

export interface UsageSnapshot {
  atMs: number;
  /** By "pid/tid". */
  threads: Map<string, ThreadSample>;
  /** By pid, every thread the process ever had (ended ones too), under thread name ENDED_THREADS. */
  processes: Map<number, ThreadSample>;
  udpReceiveBufferDrops: number;
}

export interface PhaseUsage {
  wallS: number;
  cpuS: number;
  /** Per process label and thread name (threads of the same name summed), most CPU first. */
  threads: { process: string; thread: string; cpuS: number; minorFaults: number }[];
  udpReceiveBufferDrops: number;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process or thread ended meanwhile
  }
}

/** The fields of a /proc stat line after "(comm)", and the comm itself (which may hold spaces). */
function parseStat(text: string): { comm: string; fields: string[] } {
  const close = text.lastIndexOf(')');
  return { comm: text.slice(text.indexOf('(') + 1, close), fields: text.slice(close + 2).split(' ') };
}

/** This process and every process below it. */
function descendants(): number[] {
  const children = new Map<number, number[]>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const pid of pids) {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const ppid = Number(parseStat(stat).fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(pid)]);
  }
  const found = [process.pid];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i]!) ?? []));
  return found;
}

/** "node (bench)", "node 1234", "chromium renderer", "chromium network" (a utility process by its service), "chromium browser". */
function processLabel(pid: number): string | null {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (cmdline === null) return null;
  // Chromium rewrites its children's command lines as one string, spaces between the arguments.
  const args = cmdline.split(/[\0 ]/);
  if (pid === process.pid) return 'node (bench)';
  if (/chrom/.test(args[0] ?? '')) {
    const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length);
    const subType = args.find((a) => a.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length).split('.')[0];
    return `chromium ${subType ?? type ?? 'browser'}`;
  }
  return `${(args[0] ?? '?').split('/').at(-1)} ${pid}`;
}

function udpReceiveBufferDrops(): number {
  const snmp = readText('/proc/self/net/snmp');
  const udp = snmp?.split('\n').filter((line) => line.startsWith('Udp:'));
  if (!udp || udp.length < 2) return 0;
  const names = udp[0]!.split(/\s+/);
  const values = udp[1]!.split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

/** A /proc stat line's CPU time and minor faults (fields counted from "state", field 3: minflt is 10, utime 14, stime 15). */
function usageOf(stat: string, process: string, thread?: string): ThreadSample {
  const { comm, fields } = parseStat(stat);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { process, thread: thread ?? comm, cpuS: ticks / TICKS_PER_SECOND, minorFaults: Number(fields[7]) };
}

export function snapshotUsage(): UsageSnapshot {
  const threads = new Map<string, ThreadSample>();
  const processes = new Map<number, ThreadSample>();
  for (const pid of descendants()) {
    const label = processLabel(pid);
    const total = readText(`/proc/${pid}/stat`);
    if (!label || !total) continue;
    processes.set(pid, usageOf(total, label, ENDED_THREADS));
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const stat = readText(`/proc/${pid}/task/${tid}/stat`);
      if (!stat) continue;
      // Node's thread-pool threads carry the process's name too: the main thread is told apart.
      const sample = usageOf(stat, label);
      threads.set(`${pid}/${tid}`, tid === String(pid) ? { ...sample, thread: `${sample.thread} (main)` } : sample);
    }
  }
  return { atMs: performance.now(), threads, processes, udpReceiveBufferDrops: udpReceiveBufferDrops() };
}

/**
 * What each thread alive at `end` did since `start` (a thread or process that started meanwhile, all
 * of it), and per process what its threads that ended meanwhile did. Processes that ended are missed.
 */
export function usageBetween(start: UsageSnapshot, end: UsageSnapshot): PhaseUsage {
  const summed = new Map<string, ThreadSample>();
  const add = (now: ThreadSample, before: ThreadSample | undefined, sign = 1) => {
    const key = `${now.process}\0${now.thread}`;
    const row = summed.get(key) ?? { ...now, cpuS: 0, minorFaults: 0 };
    row.cpuS += sign * (now.cpuS - (before?.cpuS ?? 0));
    row.minorFaults += sign * (now.minorFaults - (before?.minorFaults ?? 0));
    summed.set(key, row);
  };
  for (const [pid, now] of end.processes) {
    add(now, start.processes.get(pid));
    // Less what its live threads did: the rest is what its ended threads did.
    for (const [id, thread] of end.threads) {
      if (id.startsWith(`${pid}/`)) add({ ...thread, thread: ENDED_THREADS }, start.threads.get(id), -1);
    }
  }
  for (const [id, now] of end.threads) add(now, start.threads.get(id));
  // Tick rounding leaves the ended-threads row at +-0.01 s where no thread ended.
  const threads = [...summed.values()].filter((t) => t.cpuS > 0.01 || t.minorFaults > 0).sort((a, b) => b.cpuS - a.cpuS);
  return {
    wallS: (end.atMs - start.atMs) / 1000,
    cpuS: threads.reduce((sum, t) => sum + t.cpuS, 0),
    threads,
    udpReceiveBufferDrops: end.udpReceiveBufferDrops - start.udpReceiveBufferDrops,
  };
}

/** Three lines: cores used and drops; the busy threads; minor page faults per process. */
export function formatUsage(usage: PhaseUsage): string {
  const faults = new Map<string, number>();
  for (const t of usage.threads) faults.set(t.process, (faults.get(t.process) ?? 0) + t.minorFaults);
  const busy = usage.threads.filter((t) => t.cpuS >= PRINT_MIN_CPU_S).map((t) => `${t.process} ${t.thread} ${t.cpuS.toFixed(2)}`);
  const faulted = [...faults].filter(([, n]) => n >= 1000).sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${Math.round(n / 1000)}k`);
  return [
    `    CPU ${usage.cpuS.toFixed(1)} s in ${usage.wallS.toFixed(1)} s (${(usage.cpuS / usage.wallS).toFixed(2)} cores); UDP datagrams dropped at a full receive buffer: ${usage.udpReceiveBufferDrops}`,
    `    threads (CPU s): ${busy.join(', ')}`,
    `    minor page faults: ${faulted.join(', ')}`,
  ].join('\n');
}
