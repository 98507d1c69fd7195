import net from 'node:net';
import { DIAL_TIMEOUT_MS, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { SwarmError } from './errors.ts';
import { dialError, endpointName, plainAddress } from './tcp-names.node.ts';
import { startTls } from './tls-link.node.ts';
import type { TlsUpgrade, Transport, TransportEvents } from './transport.ts';
import { bytesToBase64 } from '../util/base64.ts';
import { framePool } from './wire/frame-pool.ts';
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

/**
 * A Transport over one connected TCP socket, framed as STANDARD-PROTOCOL.md says (4-byte big-endian
 * length prefix). Works the same for sockets we dialled and sockets we accepted.
 *
 * `send` hands header and payload to the socket as two writes under cork (one writev, no copy of the
 * payload; one write for a pooled frame, below), and resolves as soon as Node no longer holds the
 * bytes: at once when they went straight into the kernel (the usual case), otherwise when this
 * frame's write completes, which is never later than 'drain'. So awaiting each `send` bounds what
 * waits in user space to about one frame, and the caller may reuse its buffer once `send` has
 * resolved (not before: it is not copied).
 *
 * A large received frame that spans socket reads (every chunk frame: TLS hands over 16 KiB at a
 * time) is assembled in a buffer of `framePool`; a consumer that is done with such a frame may give
 * it back there (`release`), and the next one is assembled in it. A frame to send that came from the
 * pool goes out with its prefix as one buffer: over TLS, header and payload as two buffers cost an
 * allocation and a copy of the whole frame in Node's TLS layer.
 */
export class TcpTransport extends Emitter<TransportEvents> implements Transport {
  readonly kind = 'tcp' as const;
  readonly remoteAddress: string | null;
  readonly localAddress: string | null;
  readonly remotePort: number | null;
  readonly maxFrameBytes: number;
  readonly tlsUpgrade: TlsUpgrade = {
    hold: () => this.#hold(),
    release: () => this.#release(),
    start: (role) => this.#startTls(role),
  };
  /** The plain socket, then the TLS socket over it once upgraded. */
  #socket: net.Socket;
  readonly #reader: FrameReader;
  #closed = false;
  /** While held, frames are kept here instead of delivered (see TlsUpgrade.hold). */
  #held: Uint8Array[] | null = null;
  #tlsExporter: Uint8Array | null = null;
  /** Ends a TLS handshake still under way when the transport closes (see startTls). */
  readonly #tlsAbort = new AbortController();
  #pending = new Set<PendingSend>();
  #bytesRead = 0;
  #bytesWritten = 0;

  constructor(socket: net.Socket, options: TcpTransportOptions = {}) {
    super();
    this.#socket = socket;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#reader = new FrameReader({
      maxFrameBytes: this.maxFrameBytes,
      allocate: (length) => framePool.take(length),
    });
    // Captured now: a destroyed socket forgets its remote address.
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.localAddress = plainAddress(socket.localAddress);
    this.remotePort = socket.remotePort ?? null;
    // Chat frames are small; Nagle's algorithm would hold them back waiting for more data.
    socket.setNoDelay(true);
    this.#listen(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get encrypted(): boolean {
    return this.#tlsExporter !== null;
  }

  /** Once upgraded: the TLS channel's tls-exporter value (RFC 9266), which the identity proofs sign. */
  get channelBinding(): string | undefined {
    return this.#tlsExporter ? `tls-exporter:${bytesToBase64(this.#tlsExporter)}` : undefined;
  }

  /** Bytes received so far, length prefixes included (once upgraded to TLS: the decrypted bytes). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to the socket so far, length prefixes included (before TLS encrypts them). */
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
      const prefixed = framePool.withPrefix(frame);
      if (prefixed) {
        prefixed.set(frameHeader(frame.length));
        socket.write(prefixed, onWritten);
      } else if (frame.length === 0) {
        socket.write(frameHeader(0), onWritten);
      } else {
        socket.cork();
        socket.write(frameHeader(frame.length));
        socket.write(frame, onWritten);
        socket.uncork();
      }
      this.#bytesWritten += FRAME_HEADER_BYTES + frame.length;
      // Nothing left in Node's buffer: the kernel took every byte synchronously, ours included.
      if (socket.writableLength === 0) onWritten();
    });
  }

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tlsAbort.abort();
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

  readonly #onDataListener = (chunk: Buffer): void => this.#onData(chunk);
  readonly #onEndListener = (): void => this.#onEnd();
  readonly #onErrorListener = (err: Error): void => this.#onError(err);
  readonly #onCloseListener = (): void => this.close();

  #listen(socket: net.Socket): void {
    socket.on('data', this.#onDataListener);
    socket.on('end', this.#onEndListener);
    socket.on('error', this.#onErrorListener);
    socket.on('close', this.#onCloseListener);
  }

  #unlisten(socket: net.Socket): void {
    socket.off('data', this.#onDataListener);
    socket.off('end', this.#onEndListener);
    socket.off('error', this.#onErrorListener);
    socket.off('close', this.#onCloseListener);
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
      // A 'frame' listener may hold us: what this chunk still completes waits with the rest.
      if (this.#held) this.#held.push(frame);
      else this.emit('frame', frame);
    }
  }

  #hold(): void {
    this.#held ??= [];
    this.#socket.pause();
  }

  #release(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    while (held.length > 0 && !this.#closed) {
      if (this.#held) {
        // A listener held us again: the rest waits, in order, ahead of anything newer.
        (this.#held as Uint8Array[]).unshift(...held);
        return;
      }
      this.emit('frame', held.shift()!);
    }
    if (!this.#closed && !this.#held) this.#socket.resume();
  }

  async #startTls(role: 'client' | 'server'): Promise<void> {
    const early = (this.#held?.length ?? 0) > 0 || !this.#reader.atFrameBoundary;
    if (early || this.#tlsExporter || this.#closed) {
      const err = new SwarmError(
        'ENCRYPTION_FAILED',
        early
          ? `${this.#name} sent bytes between its handshake and TLS`
          : `cannot start TLS with ${this.#name}: the link is ${this.#closed ? 'closed' : 'already encrypted'}`,
      );
      this.close(err);
      throw err;
    }
    const plain = this.#socket;
    this.#unlisten(plain);
    // The TLS socket reports the link's errors from now on; the plain one must not crash the process.
    plain.on('error', () => {});
    try {
      const { socket, exporter } = await startTls(plain, role, this.#name, this.#tlsAbort.signal);
      this.#socket = socket;
      this.#tlsExporter = exporter;
    } catch (err) {
      this.close(err as Error);
      throw err;
    }
    if (this.#closed) {
      this.#socket.destroy();
      throw new SwarmError('TRANSPORT_CLOSED', `the connection to ${this.#name} closed during TLS`);
    }
    this.#held = null;
    this.#listen(this.#socket);
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
