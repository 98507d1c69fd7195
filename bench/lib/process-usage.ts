/**
 * Where the CPU of a phase went, across processes: CPU time and minor page faults of this process
 * and its descendants (Chromium's processes are children of this one), per thread, read from /proc;
 * and the UDP datagrams (IPv4 and IPv6) this whole network namespace dropped because a socket's
 * receive buffer was full. A snapshot before and after a phase gives what each thread did in it.
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
/** An ended-threads row smaller than this per live thread of its process is tick rounding, not a thread. */
const ROUNDING_PER_THREAD_S = 0.02;
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
export function parseStat(text: string): { comm: string; fields: string[] } {
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
    const siblings = children.get(ppid);
    if (siblings) siblings.push(Number(pid));
    else children.set(ppid, [Number(pid)]);
  }
  const found = [process.pid];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i]!) ?? []));
  return found;
}

const CHROMIUM_BINARIES = new Set(['chromium', 'chrome', 'headless_shell']);

/**
 * A process's label from its /proc cmdline: "chromium renderer", "chromium network" (a utility
 * process, by its service), "chromium browser" (the binary without --type), else "<binary> <pid>".
 */
export function labelFromCmdline(cmdline: string, pid: number): string {
  // Chromium rewrites its children's command lines as one string, spaces between the arguments.
  const args = cmdline.split(/[\0 ]/);
  const binary = (args[0] ?? '?').split('/').at(-1)!;
  if (!CHROMIUM_BINARIES.has(binary)) return `${binary} ${pid}`;
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return `chromium ${option('utility-sub-type')?.split('.')[0] ?? option('type') ?? 'browser'}`;
}

function processLabel(pid: number): string | null {
  if (pid === process.pid) return 'node (bench)';
  const cmdline = readText(`/proc/${pid}/cmdline`);
  return cmdline === null ? null : labelFromCmdline(cmdline, pid);
}

/** RcvbufErrors of UDP over IPv4 (a header line and a value line in snmp) and IPv6 (a "name value" line in snmp6). */
function udpReceiveBufferDrops(): number {
  const udp =
    readText('/proc/self/net/snmp')
      ?.split('\n')
      .filter((line) => line.startsWith('Udp:')) ?? [];
  const v4 =
    udp.length < 2 ? 0 : Number(udp[1]!.split(/\s+/)[udp[0]!.split(/\s+/).indexOf('RcvbufErrors')] ?? 0);
  const v6line = readText('/proc/self/net/snmp6')
    ?.split('\n')
    .find((line) => line.startsWith('Udp6RcvbufErrors'));
  return v4 + Number(v6line?.split(/\s+/)[1] ?? 0);
}

/** A /proc stat line's CPU time and minor faults (fields counted from "state", field 3: minflt is 10, utime 14, stime 15). */
export function usageOf(stat: string, process: string, thread?: string): ThreadSample {
  const { comm, fields } = parseStat(stat);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { process, thread: thread ?? comm, cpuS: ticks / TICKS_PER_SECOND, minorFaults: Number(fields[7]) };
}

export function snapshotUsage(): UsageSnapshot {
  const threads = new Map<string, ThreadSample>();
  const processes = new Map<number, ThreadSample>();
  for (const pid of descendants()) {
    const label = processLabel(pid);
    // Not atomic: threads keep running between this read and theirs, which leaves the ended-threads
    // row a little below its true value (see ROUNDING_PER_THREAD_S).
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
      // A node's other threads (libuv's pool, V8's helpers) carry its name too: the main thread is told apart.
      const sample = usageOf(stat, label);
      threads.set(
        `${pid}/${tid}`,
        tid === String(pid) ? { ...sample, thread: `${sample.thread} (main)` } : sample,
      );
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
  let cpuS = 0;
  const rounding = new Map<string, number>();
  for (const [pid, now] of end.processes) {
    add(now, start.processes.get(pid));
    cpuS += now.cpuS - (start.processes.get(pid)?.cpuS ?? 0);
    // Less what its live threads did: the rest is what its ended threads did.
    let live = 0;
    for (const [id, thread] of end.threads) {
      if (!id.startsWith(`${pid}/`)) continue;
      add({ ...thread, thread: ENDED_THREADS }, start.threads.get(id), -1);
      live++;
    }
    // Processes of one label (two renderers) share their rows, so they add up their allowances too.
    const key = `${now.process}\0${ENDED_THREADS}`;
    rounding.set(key, (rounding.get(key) ?? 0) + ROUNDING_PER_THREAD_S * (live + 1));
  }
  for (const [id, now] of end.threads) add(now, start.threads.get(id));
  // utime and stime are whole ticks, truncated per thread: a process's total and the sum of its
  // threads differ by up to a tick or two per thread, so a small ended-threads row is no thread at all.
  const noise = (t: ThreadSample) => Math.abs(t.cpuS) < (rounding.get(`${t.process}\0${t.thread}`) ?? 0);
  const threads = [...summed.values()]
    .filter((t) => (t.cpuS > 0 || t.minorFaults > 0) && !noise(t))
    .sort((a, b) => b.cpuS - a.cpuS);
  return {
    wallS: (end.atMs - start.atMs) / 1000,
    // From the processes' own totals, which are exact; the rows above are split from them.
    cpuS,
    threads,
    udpReceiveBufferDrops: end.udpReceiveBufferDrops - start.udpReceiveBufferDrops,
  };
}

/** Three lines: cores used and drops; the busy threads; minor page faults per process. */
export function formatUsage(usage: PhaseUsage): string {
  if (usage.threads.length === 0) return '    CPU per thread: n/a (no /proc here)';
  const faults = new Map<string, number>();
  for (const t of usage.threads) faults.set(t.process, (faults.get(t.process) ?? 0) + t.minorFaults);
  const busy = usage.threads
    .filter((t) => t.cpuS >= PRINT_MIN_CPU_S)
    .map((t) => `${t.process} ${t.thread} ${t.cpuS.toFixed(2)}`);
  const faulted = [...faults]
    .filter(([, n]) => n >= 1000)
    .sort((a, b) => b[1] - a[1])
    .map(([p, n]) => `${p} ${Math.round(n / 1000)}k`);
  return [
    `    CPU ${usage.cpuS.toFixed(1)} s in ${usage.wallS.toFixed(1)} s (${(usage.cpuS / usage.wallS).toFixed(2)} cores); UDP datagrams dropped at a full receive buffer (whole namespace): ${usage.udpReceiveBufferDrops}`,
    `    threads (CPU s): ${busy.join(', ')}`,
    `    minor page faults: ${faulted.join(', ')}`,
  ].join('\n');
}
