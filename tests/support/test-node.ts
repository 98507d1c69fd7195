import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loopbackConfig } from '../../bootstrap-node/config.ts';
import type { NodeConfig } from '../../bootstrap-node/config.ts';
import { startNode } from '../../bootstrap-node/node.ts';
import type { RunningNode, StartOptions } from '../../bootstrap-node/node.ts';

/**
 * Starts real nodes in this process on loopback (TCP and HTTP on free ports), each with its own temp
 * data directory, and keeps their log lines in memory so tests can check that a reason was logged.
 */
export interface TestNode extends RunningNode {
  logs: Record<string, unknown>[];
  api<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }>;
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const tempDirs: string[] = [];

export async function makeTempDir(prefix = 'swarmdrop-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function startTestNode(
  overrides: Partial<NodeConfig> = {},
  options: Omit<StartOptions, 'log'> = {},
): Promise<TestNode> {
  const dir = overrides.dir ?? (await makeTempDir());
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'debug', base: undefined }, sink);
  const config = loopbackConfig({ dir, logLevel: 'debug', logToStdout: false, maxUpload: 1024 ** 3, ...overrides });

  const node = await startNode(config, { ...options, log });
  const testNode: TestNode = Object.assign(node, {
    logs,
    async api(path: string, init: { method?: string; body?: unknown } = {}) {
      const response = await fetch(`${node.apiUrl}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(init.body !== undefined && { 'content-type': 'application/json' }),
          ...(node.apiToken !== null && { authorization: `Bearer ${node.apiToken}` }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) {
      return waitFor(() => logs.find(predicate), timeoutMs, 'a matching log line');
    },
  });
  nodesOfThisTest.push(testNode);
  return testNode;
}

/**
 * Every node started since the current test began (closed ones too): failure-logs.ts prints what
 * they logged when the test fails, so a failure in CI can be read without a rerun.
 */
export const nodesOfThisTest: TestNode[] = [];

/** Where a test node takes TCP peers, as `--connect` wants it. */
export function at(node: { tcpPort: number }): { host: string; port: number } {
  return { host: '127.0.0.1', port: node.tcpPort };
}

/** Polls `probe` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until `node` lists fileId among the files its peers offer (by at least `peers` of them); returns that entry. */
export function waitForOffer(node: Pick<TestNode, 'api'>, fileId: string, timeoutMs: number, what: string, peers = 0): Promise<any> {
  return waitFor(async () => {
    const { body } = await node.api('/api/files');
    const entry = body.remote.find((f: any) => f.file_id === fileId);
    return entry && (entry.peers?.length ?? 0) >= peers ? entry : null;
  }, timeoutMs, what);
}

/** Waits until a transfer at `node` completes, and returns it; a transfer that fails fails the test at once. */
export function waitForTransferDone(node: Pick<TestNode, 'api'>, transferId: string, timeoutMs: number, what: string): Promise<any> {
  return waitFor(async () => {
    const { body } = await node.api(`/api/files/transfers/${transferId}`);
    if (body.transfer.status === 'failed') throw new Error(`transfer failed: ${body.transfer.error}`);
    return body.transfer.status === 'completed' ? body.transfer : null;
  }, timeoutMs, what);
}
