import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { startNodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import type { Sample } from './sampler.ts';

/**
 * The soak's swarm: nodes as child processes of the real CLI, each with its own data dir and fixed
 * ports, so a node killed with SIGKILL comes back on the same dir and ports and its neighbours'
 * redials find it again.
 */
export interface SoakNode {
  index: number;
  dir: string;
  tcpPort: number;
  apiPort: number;
  /** Indexes of the nodes it dials at start (only nodes started before it). */
  dials: number[];
  process: NodeProcess | null;
  /** One series of samples per process life (a restart starts a new one). */
  lives: Sample[][];
  restarts: number;
}

/** A free loopback port, released at once so the node can bind it. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function makeNode(index: number, dials: number[]): Promise<SoakNode> {
  return {
    index,
    dir: await mkdtemp(join(tmpdir(), `swarmdrop-soak-${index}-`)),
    tcpPort: await freePort(),
    apiPort: await freePort(),
    dials,
    process: null,
    lives: [],
    restarts: 0,
  };
}

export async function startSoakNode(node: SoakNode, all: SoakNode[]): Promise<void> {
  const connect = node.dials.flatMap((i) => ['--connect', `127.0.0.1:${all[i]!.tcpPort}`]);
  node.process = await startNodeProcess([
    '--dir', node.dir,
    '--name', `soak-${node.index}`,
    '--port', String(node.tcpPort),
    '--api-port', String(node.apiPort),
    // Info, not debug: the runner keeps every line a node prints.
    '--log-level', 'info',
    ...connect,
  ]);
  node.lives.push([]);
}

export async function killSoakNode(node: SoakNode): Promise<void> {
  const running = node.process;
  node.process = null;
  await running?.kill('SIGKILL');
}

/** True when the file a completed transfer landed is exactly the file its id names (SHA-256). */
export async function verifyLanded(node: SoakNode, transfer: { file_id: string; destination: string | null; file_name: string }): Promise<boolean> {
  const path = transfer.destination
    ? isAbsolute(transfer.destination)
      ? transfer.destination
      : join(node.dir, 'shared_files', transfer.destination)
    : join(node.dir, 'shared_files', transfer.file_name);
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex') === transfer.file_id;
  } catch {
    return false;
  }
}
