import net from 'node:net';
import { DIAL_TIMEOUT_MS, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { SwarmError, type ErrorCode } from './errors.ts';
import type { Transport, TransportEvents } from './transport.ts';
import { FrameReader, frameHeader } from './wire/frame-reader.ts';
import { Emitter } from '../util/emitter.ts';

/**
 * After an orderly close we half-close (FIN) so that frames already written still reach the remote,
 * then wait this long for the remote to close its side before destroying the socket anyway, so a
 * remote that never answers the FIN cannot hold a file descriptor forever.
 */
export const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

export type TcpTransportOptions = {
  /** Largest frame accepted from the remote and allowed in `send`, in bytes (default MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
};

type PendingSend = { resolve: () => void; reject: (err: Error) => void };

/** "127.0.0.1:5999", or "[::1]:5999" for an IPv6 address, for messages. */
function endpointName(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A dual-stack listener reports IPv4 peers as "::ffff:1.2.3.4"; the rest of the system wants "1.2.3.4". */
function plainAddress(address: string | undefined): string | null {
  if (address === undefined) return null;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice('::ffff:'.length) : address;
}

/** The errno-style code of a socket error; with Node's happy-eyeballs dialing it sits on the inner errors. */
function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return code;
  if (err instanceof AggregateError) return errnoCode(err.errors[0]);
  return undefined;
}

/**
 * A Transport over one connected TCP socket, framed as STANDARD-PROTOCOL.md says (4-byte big-endian
 * length prefix). Works the same for sockets we dialled and sockets we accepted.
 *
 * `send` hands header and payload to the socket as two writes under cork (one writev, no copy of the
 * payload), and resolves as soon as Node no longer holds the bytes: at once when they went straight
 * into the kernel (the usual case), otherwise when this frame's write completes, which is never
 * later than 'drain'. So awaiting each `send` bounds what waits in user space to about one frame,
 * and the caller may reuse its buffer once `send` has resolved (not before: it is not copied).
 */
export class TcpTransport extends Emitter<TransportEvents> implements Transport {
  readonly kind = 'tcp' as const;
  readonly remoteAddress: string | null;
  readonly localAddress: string | null;
  readonly remotePort: number | null;
  readonly maxFrameBytes: number;
  readonly #socket: net.Socket;
  readonly #reader: FrameReader;
  #closed = false;
  #pending = new Set<PendingSend>();
  #bytesRead = 0;
  #bytesWritten = 0;

  constructor(socket: net.Socket, options: TcpTransportOptions = {}) {
    super();
    this.#socket = socket;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#reader = new FrameReader({ maxFrameBytes: this.maxFrameBytes });
    // Captured now: a destroyed socket forgets its remote address.
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.localAddress = plainAddress(socket.localAddress);
    this.remotePort = socket.remotePort ?? null;
    // Chat frames are small; Nagle's algorithm would hold them back waiting for more data.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err) => this.#onError(err));
    socket.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received on the wire so far, length prefixes included. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to the socket so far, length prefixes included. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  send(frame: Uint8Array): Promise<void> {
    // `writable` turns false as soon as the socket errs or ends, before its 'close' event reaches us.
    if (this.#closed || !this.#socket.writable) {
      return Promise.reject(
        new SwarmError('TRANSPORT_CLOSED', `cannot send: the connection to ${this.#name} is closed`),
      );
    }
    if (frame.length > this.maxFrameBytes) {
      return Promise.reject(
        new SwarmError(
          'FRAME_TOO_LARGE',
          `cannot send a frame of ${frame.length} bytes, over the limit of ${this.maxFrameBytes} bytes`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const pending: PendingSend = { resolve, reject };
      this.#pending.add(pending);
      const onWritten = (err?: Error | null): void => {
        if (!this.#pending.delete(pending)) return; // already settled, by the fast path or by close
        if (err) {
          reject(
            new SwarmError('TRANSPORT_CLOSED', `the connection to ${this.#name} closed during a send`, {
              cause: err,
            }),
          );
        } else {
          resolve();
        }
      };
      const socket = this.#socket;
      socket.cork();
      if (frame.length === 0) {
        socket.write(frameHeader(0), onWritten);
      } else {
        socket.write(frameHeader(frame.length));
        socket.write(frame, onWritten);
      }
      socket.uncork();
      this.#bytesWritten += FRAME_HEADER_BYTES + frame.length;
      // Nothing left in Node's buffer: the kernel took every byte synchronously, ours included.
      if (socket.writableLength === 0) onWritten();
    });
  }

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const p of pending) {
      p.reject(
        new SwarmError(
          'TRANSPORT_CLOSED',
          `the connection to ${this.#name} closed before the frame was written`,
        ),
      );
    }
    const socket = this.#socket;
    if (err || socket.destroyed) {
      socket.destroy();
    } else {
      socket.end();
      const timer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_TIMEOUT_MS);
      socket.once('close', () => clearTimeout(timer));
    }
    this.emit('close', err);
  }

  get #name(): string {
    return this.remoteAddress === null || this.remotePort === null
      ? 'the remote peer'
      : endpointName(this.remoteAddress, this.remotePort);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#bytesRead += chunk.length;
    let frames: Uint8Array[];
    try {
      frames = this.#reader.push(chunk);
    } catch (err) {
      this.close(err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return; // a 'frame' listener may close us; deliver nothing after that
      this.emit('frame', frame);
    }
  }

  #onEnd(): void {
    if (this.#reader.atFrameBoundary) {
      this.close();
    } else {
      const partial = this.#reader.bufferedBytes;
      this.close(
        new SwarmError(
          'TRANSPORT_ERROR',
          `${this.#name} closed the connection in the middle of a frame (${partial} bytes unread)`,
        ),
      );
    }
  }

  #onError(err: Error): void {
    this.close(
      new SwarmError('TRANSPORT_ERROR', `connection to ${this.#name} failed: ${err.message}`, { cause: err }),
    );
  }
}

function dialError(err: unknown, where: string): SwarmError {
  const code = errnoCode(err);
  const [swarmCode, words]: [ErrorCode, string] =
    code === 'ECONNREFUSED'
      ? ['CONNECT_REFUSED', `connection to ${where} was refused (nothing is listening there)`]
      : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
        ? ['CONNECT_UNREACHABLE', `${where} is unreachable from this machine`]
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? ['CONNECT_UNREACHABLE', `cannot connect to ${where}: the host name could not be resolved`]
          : code === 'ETIMEDOUT'
            ? ['CONNECT_TIMEOUT', `connection to ${where} timed out`]
            : ['CONNECT_FAILED', `connection to ${where} failed: ${(err as Error)?.message ?? String(err)}`];
  return new SwarmError(swarmCode, words, { cause: err });
}

export type DialTcpOptions = {
  /** Give up if the connection is not established within this many ms (default DIAL_TIMEOUT_MS). */
  timeoutMs?: number;
  maxFrameBytes?: number;
};

/** Connects to host:port; rejects with a CONNECT_* SwarmError whose message names host:port. */
export async function dialTcp(
  host: string,
  port: number,
  options: DialTcpOptions = {},
): Promise<TcpTransport> {
  const where = endpointName(host, port);
  const timeoutMs = options.timeoutMs ?? DIAL_TIMEOUT_MS;
  const socket = new net.Socket();
  return new Promise<TcpTransport>((resolve, reject) => {
    const fail = (err: SwarmError): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new SwarmError('CONNECT_TIMEOUT', `connection to ${where} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (err) => fail(dialError(err, where)));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners();
      resolve(new TcpTransport(socket, { maxFrameBytes: options.maxFrameBytes }));
    });
    try {
      socket.connect({ host, port });
    } catch (err) {
      // Invalid arguments (a port out of range) throw synchronously.
      fail(dialError(err, where));
    }
  });
}

export type ListenTcpOptions = {
  /** Address to listen on (default "0.0.0.0": every IPv4 interface, as peers on the LAN must reach us). */
  host?: string;
  /** Port to listen on; 0 picks a free one (read it back from `TcpListener.port`). */
  port: number;
  maxFrameBytes?: number;
};

export interface TcpListener {
  /** The port actually bound (the chosen one when asked for port 0). */
  readonly port: number;
  /** The address actually bound. */
  readonly host: string;
  /** Stops accepting and closes every transport accepted so far; safe to call twice. */
  close(): Promise<void>;
}

function listenError(err: unknown, where: string): SwarmError {
  const code = errnoCode(err);
  const reason =
    code === 'EADDRINUSE'
      ? 'the port is already in use (is another node running?)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'that address does not belong to this machine'
          : ((err as Error)?.message ?? String(err));
  return new SwarmError('LISTEN_FAILED', `cannot listen on ${where}: ${reason}`, { cause: err });
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
  let closing: Promise<void> | null = null;

  server.on('connection', (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const transport = new TcpTransport(socket, { maxFrameBytes: options.maxFrameBytes });
    accepted.add(transport);
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
