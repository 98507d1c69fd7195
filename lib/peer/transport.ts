import type { Emitter } from '../util/emitter.ts';

/**
 * A transport moves whole frames between two endpoints. It knows nothing of the protocol:
 * a frame is an opaque byte payload (for TCP, what follows the 4-byte length prefix).
 *
 * Contract (checked by tests/unit/transport-contract.ts against every implementation):
 * - frames arrive whole, in order, each exactly once, with message boundaries kept;
 * - `send` resolves once the frame is accepted under the transport's high-water mark, so a
 *   caller that awaits each `send` gets back-pressure and never buffers without bound;
 *   a frame is never dropped because a buffer is full; the caller may reuse its buffer once
 *   `send` has resolved (not before: a transport may write it without copying);
 * - a frame over `maxFrameBytes` is rejected with SwarmError('FRAME_TOO_LARGE') without closing;
 * - `send` on a closed transport rejects with a SwarmError('TRANSPORT_CLOSED');
 * - `close(err?)` is safe to call twice; 'close' is emitted exactly once, with the error that
 *   caused it (undefined for an orderly close), whichever side closed;
 * - a framing violation by the remote (e.g. an over-size length prefix) closes the transport with
 *   a SwarmError whose code says why.
 */
export type TransportKind = 'tcp' | 'webrtc' | 'memory';

export type TransportEvents = {
  frame: (frame: Uint8Array) => void;
  close: (err: Error | undefined) => void;
};

/**
 * Turning a plain stream into TLS at a frame boundary both sides agree on (docs/PROTOCOL.md,
 * "Encrypted TCP links"). The connection holds frames while it decides what a handshake frame means,
 * because any bytes after it may already be TLS.
 */
export interface TlsUpgrade {
  /** Delivers no more frames and reads no more bytes until `release` or `start`. */
  hold(): void;
  /** Back to plain frames: delivers what arrived while held, then reads on. */
  release(): void;
  /**
   * Starts TLS 1.3 in `role` on the held stream; resolves once the TLS handshake is done, after which
   * `encrypted` is true and `channelBinding` is the channel's tls-exporter value. Anything the remote
   * sent between its last plain frame and TLS is a protocol violation: the transport closes with
   * ENCRYPTION_FAILED, as it does when TLS itself fails.
   */
  start(role: 'client' | 'server'): Promise<void>;
}

export interface Transport extends Pick<Emitter<TransportEvents>, 'on' | 'once' | 'off'> {
  readonly kind: TransportKind;
  /** The remote endpoint as seen by this side ("127.0.0.1"), or null where there is none. */
  readonly remoteAddress: string | null;
  readonly remotePort: number | null;
  /** Our own address on this link (the address the remote dialled), where the transport has one. */
  readonly localAddress?: string | null;
  /**
   * A value both ends see identically only when nothing sits between them (WebRTC: both DTLS
   * certificate fingerprints, sorted); the handshake's identity proofs cover it. Absent on TCP.
   */
  readonly channelBinding?: string;
  /** True while traffic on this link is encrypted (WebRTC always, DTLS; TCP once upgraded to TLS). */
  readonly encrypted?: boolean;
  /** Present where the link can turn into TLS after the plain handshake (TCP). */
  readonly tlsUpgrade?: TlsUpgrade;
  readonly closed: boolean;
  /** Largest frame this transport can carry, in bytes. */
  readonly maxFrameBytes: number;
  send(frame: Uint8Array): Promise<void>;
  close(err?: Error): void;
}
