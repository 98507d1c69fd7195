import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

/**
 * Debian's coturn on loopback for tests: listening and relaying on 127.0.0.1 only, one
 * long-term-credential user, loopback peers allowed (coturn refuses them by default), its pid file in
 * a temp dir. `npm test` checks that coturn is installed first (scripts/ensure-system-deps.mjs).
 */
export interface TurnServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startTurnServer(): Promise<TurnServer> {
  const port = await freeUdpPort();
  const runDir = await mkdtemp(join(tmpdir(), 'swarmdrop-turn-'));
  // Relay ports just above a random base, so parallel runs rarely meet.
  const relayBase = 40_000 + Math.floor(Math.random() * 200) * 100;
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n', // no configuration file
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${relayBase}`,
      `--max-port=${relayBase + 99}`,
      '--allow-loopback-peers',
      '--lt-cred-mech',
      '--user=swarm:drop',
      '--realm=swarmdrop.test',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--log-file=stdout',
      `--pidfile=${join(runDir, 'turnserver.pid')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 10_000;
  while (!(await acceptsTcp(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(runDir, { recursive: true, force: true });
      throw new Error(`turnserver did not start on 127.0.0.1:${port}: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `turn:swarm:drop@127.0.0.1:${port}`,
    port,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
