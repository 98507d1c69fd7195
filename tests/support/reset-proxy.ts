import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback that relays to a target and, on its first `resets` connections, cuts the
 * link with a TCP reset (RST) once `resetAfterBytes` have gone from the target to the client: an
 * arbitrary byte count, so the cut falls in the middle of a frame. Later connections are relayed whole.
 */
export interface ResetProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections cut so far. */
  readonly resetsDone: number;
  /** When (Date.now()) each connection arrived, and when each cut was made. */
  readonly connectedAt: number[];
  readonly resetAt: number[];
  close(): Promise<void>;
}

export async function startResetProxy(options: { targetPort: number; resetAfterBytes: number; resets: number }): Promise<ResetProxy> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let resetsDone = 0;
  const connectedAt: number[] = [];
  const resetAt: number[] = [];
  const server = net.createServer((client) => {
    const cutThisOne = connections++ < options.resets;
    connectedAt.push(Date.now());
    const upstream = net.connect({ host: '127.0.0.1', port: options.targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    let relayed = 0;
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (!cutThisOne || client.destroyed) {
        client.write(chunk);
        return;
      }
      const room = options.resetAfterBytes - relayed;
      relayed += chunk.length;
      if (room > chunk.length) {
        client.write(chunk);
        return;
      }
      resetsDone++;
      resetAt.push(Date.now());
      client.write(chunk.subarray(0, room), () => {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      });
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get resetsDone() {
      return resetsDone;
    },
    connectedAt,
    resetAt,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
