import net from 'node:net';
import { AddressLimit } from './address-limit.ts';
import { endpointName, listenError, plainAddress } from './tcp-names.node.ts';
import { TcpTransport } from './transport-tcp.node.ts';

export type ListenTcpOptions = {
  /** Address to listen on (default "0.0.0.0": every IPv4 interface, as peers on the LAN must reach us). */
  host?: string;
  /** Port to listen on; 0 picks a free one (read it back from `TcpListener.port`). */
  port: number;
  maxFrameBytes?: number;
  /** Open connections allowed from one remote address (default MAX_CONNECTIONS_PER_ADDRESS). */
  maxConnectionsPerAddress?: number;
  /** Told of each connection refused at the door, with the reason (the caller logs it). */
  onRefused?: (remote: string, reason: string) => void;
};

export interface TcpListener {
  /** The port actually bound (the chosen one when asked for port 0). */
  readonly port: number;
  /** The address actually bound. */
  readonly host: string;
  /** Stops accepting and closes every transport accepted so far; safe to call twice. */
  close(): Promise<void>;
}

/** Listens for TCP peers and hands each accepted connection to `onTransport` as a TcpTransport. */
export async function listenTcp(
  options: ListenTcpOptions,
  onTransport: (transport: TcpTransport) => void,
): Promise<TcpListener> {
  const host = options.host ?? '0.0.0.0';
  const where = endpointName(host, options.port);
  const server = net.createServer();
  const accepted = new Set<TcpTransport>();
  const perAddress = new AddressLimit(options.maxConnectionsPerAddress);
  let closing: Promise<void> | null = null;

  server.on('connection', (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const address = plainAddress(socket.remoteAddress) ?? 'unknown';
    if (!perAddress.tryAcquire(address)) {
      // Reset rather than a polite close: the remote is holding too many sockets already.
      socket.on('error', () => {});
      socket.resetAndDestroy();
      options.onRefused?.(
        endpointName(address, socket.remotePort ?? 0),
        `${perAddress.max} connections from ${address} are open already (the limit per address)`,
      );
      return;
    }
    const transport = new TcpTransport(socket, { maxFrameBytes: options.maxFrameBytes });
    accepted.add(transport);
    socket.once('close', () => perAddress.release(address));
    transport.once('close', () => accepted.delete(transport));
    onTransport(transport);
  });

  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: Error): void => reject(listenError(err, where));
    server.once('error', onListenError);
    try {
      server.listen({ host, port: options.port }, () => {
        server.off('error', onListenError);
        resolve();
      });
    } catch (err) {
      // Invalid arguments (a port out of range) throw synchronously.
      reject(listenError(err, where));
    }
  });
  // Once listening, an error concerns one incoming connection (e.g. EMFILE on accept); the server
  // keeps listening, so the error must not crash the process.
  server.on('error', () => {});

  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    host: address.address,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // server.close only calls back once every connection has ended, so close them first.
        server.close(() => resolve());
        for (const transport of [...accepted]) transport.close();
      });
      return closing;
    },
  };
}
