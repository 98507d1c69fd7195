/**
 * A node in its own process, started through the real CLI (bin/swarmdrop.mjs) so that its memory is
 * its own and can be measured: peak RSS from /proc/<pid>/status (VmHWM at the end, and VmRSS sampled
 * every 100 ms as a cross-check).
 *
 * It runs with --quiet (printing every log line to a pipe would cost the node CPU the benchmark
 * should not charge it for), so its ports are read from the "node is listening" line of its log file,
 * <dir>/logs/swarmdrop.log. tests/support/node-process.ts reads the same line from stdout instead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../../bin/runtime-flags.mjs';
import type { RunGuard } from './run-guard.ts';

const BIN = fileURLToPath(new URL('../../bin/swarmdrop.mjs', import.meta.url));
const LOG_POLL_MS = 50;
const RSS_SAMPLE_MS = 100;
const API_TIMEOUT_MS = 10_000;
/** A node given SIGTERM closes cleanly (and writes its CPU profile); after this it gets SIGKILL. */
const STOP_GRACE_MS = 15_000;

export interface NodeProcess {
  pid: number;
  dir: string;
  apiUrl: string;
  tcpPort: number;
  peerId: string;
  /** JSON from the REST API; throws with the node's `detail` on a non-2xx status. */
  api<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** The lines of the node's log file whose `msg` is `message`. */
  logLines(message: string): Promise<Record<string, unknown>[]>;
  /** Peak resident set size so far, bytes: the larger of VmHWM and the highest VmRSS sample. */
  peakRssBytes(): number;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. Safe to call twice. */
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  dir: string;
  /** Node CLI flags after the defaults (--port 0 --api-port 0 --host/--advertise 127.0.0.1 --quiet). */
  args: string[];
  /** Flags for the node.js runtime itself, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  runtimeArgs?: string[];
  guard: RunGuard;
  startTimeoutMs?: number;
}

/** A "Vm...:  123 kB" field of /proc/<pid>/status in bytes, or null where /proc is not there. */
export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function findListeningLine(logPath: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.includes('"node is listening"')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // a line still being written: the next poll sees it whole
    }
  }
  return undefined;
}

export async function spawnNodeProcess(options: SpawnOptions): Promise<NodeProcess> {
  const { dir, guard } = options;
  const child = spawn(
    process.execPath,
    [
      ...NODE_RUNTIME_FLAGS,
      ...(options.runtimeArgs ?? []),
      BIN,
      ...['--dir', dir, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--quiet'],
      ...options.args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const unregister = guard.onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const pid = child.pid!;

  let sampledPeak = 0;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, procStatusBytes(pid, 'VmRSS') ?? 0);
  }, RSS_SAMPLE_MS);
  void exited.then(() => clearInterval(sampler));

  const logPath = join(dir, 'logs', 'swarmdrop.log');
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let listening: Record<string, unknown> | undefined;
  while (!listening) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`node did not start within ${options.startTimeoutMs ?? 30_000} ms: ${stderr}`);
    await new Promise((r) => setTimeout(r, LOG_POLL_MS));
    listening = await findListeningLine(logPath);
  }
  const apiUrl = String(listening.apiUrl);

  let stopping: Promise<number | null> | undefined;
  return {
    pid,
    dir,
    apiUrl,
    tcpPort: Number(listening.tcpPort),
    peerId: String(listening.peerId),
    async api<T>(path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${apiUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(API_TIMEOUT_MS),
      });
      const text = await response.text();
      const parsed = text ? JSON.parse(text) : undefined;
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${parsed?.detail ?? text}`);
      return parsed as T;
    },
    async logLines(message: string) {
      const text = await readFile(logPath, 'utf8').catch(() => '');
      const lines: Record<string, unknown>[] = [];
      for (const line of text.split('\n')) {
        if (!line.includes(JSON.stringify(message))) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a line being written
        }
      }
      return lines.filter((l) => l.msg === message);
    },
    peakRssBytes() {
      return Math.max(sampledPeak, procStatusBytes(pid, 'VmHWM') ?? 0);
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        const code = await exited;
        clearTimeout(timer);
        unregister();
        return code;
      })();
      return stopping;
    },
  };
}
