import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../../bin/runtime-flags.mjs';

/**
 * Runs a node as its own process through the real CLI (bin/swarmdrop.mjs), so tests can kill it with
 * SIGKILL and start it again on the same data directory.
 */
const BIN = fileURLToPath(new URL('../../bin/swarmdrop.mjs', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  apiUrl: string;
  tcpPort: number;
  peerId: string;
  lines: Record<string, any>[];
  /** Everything the process wrote to stdout, log lines and plain text alike. */
  readonly stdout: string;
  api<T = any>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function startNodeProcess(args: string[], timeoutMs = 30_000): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [...NODE_RUNTIME_FLAGS, BIN, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--log-level', 'debug', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, any>[] = [];
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<Record<string, any>>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const line = JSON.parse(text);
          lines.push(line);
          if (line.msg === 'node is listening') resolve(line);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`node exited (${code}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`node did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs).unref();
  });
  const ready = await listening;
  return {
    child,
    apiUrl: ready.apiUrl,
    tcpPort: ready.tcpPort,
    peerId: ready.peerId,
    lines,
    get stdout() {
      return stdout;
    },
    async api(path, body) {
      const response = await fetch(`${ready.apiUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async kill(signal) {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
