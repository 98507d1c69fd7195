import { randomUUID } from 'node:crypto';
import net from 'node:net';

/**
 * A raw TCP client for hostile-input tests: writes whatever bytes it is told, collects the frames the
 * other side sends back (4-byte big-endian length + JSON), and reports when the other side closes.
 * Written from STANDARD-PROTOCOL.md, independent of lib/.
 */
export class RawSocket {
  readonly socket: net.Socket;
  readonly frames: any[] = [];
  closed = false;
  #buffer = Buffer.alloc(0);
  readonly #closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4) {
        const length = this.#buffer.readUInt32BE(0);
        if (this.#buffer.length < 4 + length) break;
        this.frames.push(JSON.parse(this.#buffer.subarray(4, 4 + length).toString('utf8')));
        this.#buffer = this.#buffer.subarray(4 + length);
      }
    });
    socket.on('error', () => {});
    this.#closedPromise = new Promise((resolve) => socket.on('close', () => ((this.closed = true), resolve())));
  }

  static connect(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  async writeBytewise(bytes: Uint8Array): Promise<void> {
    for (const byte of bytes) {
      await this.write(Uint8Array.of(byte));
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Resolves true when the other side closed within timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs));
    return Promise.race([this.#closedPromise.then(() => true as const), timeout]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function frame(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** A fresh standard peer id, in the reference peer's shape: a UUID, a dash, 16 hex digits. */
export function standardPeerId(): string {
  return `${randomUUID()}-0123456789abcdef`;
}

export function envelope(type: string, senderId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '1.0', type, sender_id: senderId, message_id: randomUUID(), timestamp: Date.now() / 1000, ...extra };
}

export function standardHandshake(senderId: string, port = 1): Record<string, unknown> {
  return envelope('handshake', senderId, {
    content: { address: 'localhost', port, public_key: null, handshake_response: false },
  });
}
