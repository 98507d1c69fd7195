/**
 * WebRTC data-channel transport over the standard RTCPeerConnection API: one code path for the
 * browser's own RTCPeerConnection and node-datachannel's polyfill (passed in, never sniffed; see
 * transport-webrtc.node.ts). Also: the offer/answer helper, ICE server URLs, SDP fingerprints.
 */
import { MAX_FRAME_BYTES } from './constants.ts';
import { SwarmError } from './errors.ts';
import type { Transport, TransportEvents } from './transport.ts';
import { Emitter } from '../util/emitter.ts';

/**
 * `send` hands frames to the channel at once while its `bufferedAmount` is under this mark.
 * Measured node<->node, 64 MiB of 64 KiB frames (noisy shared 2-core machine): marks of 64-256 KiB
 * ran 25-36 MB/s, 1 MiB 37-41 MB/s, 4 MiB no better; NOTES-WEBRTC saw 35 vs 46-48 MB/s for 64 KiB vs 1 MiB.
 */
export const WEBRTC_HIGH_WATER_BYTES = 1024 * 1024;
/** Queued sends resume when `bufferedAmount` falls to this: half a mark is left to send meanwhile. */
export const WEBRTC_LOW_WATER_BYTES = WEBRTC_HIGH_WATER_BYTES / 2;
/**
 * End-to-end window: the sender stops handing frames to the channel while this many bytes it sent
 * are not yet acknowledged as delivered to the receiver's 'frame' listeners. Needed because SCTP
 * flow control stops short of JavaScript: node-datachannel queues received messages for the event
 * loop without limit (measured 12-40 MiB queued, growing with the amount sent). 8 MiB covers the
 * bandwidth-delay product of ~50 MB/s at 150 ms round trip.
 */
export const WEBRTC_WINDOW_BYTES = 8 * 1024 * 1024;
/** The receiver acknowledges after consuming this much, and at latest WEBRTC_ACK_DELAY_MS after a frame. */
export const WEBRTC_ACK_EVERY_BYTES = WEBRTC_WINDOW_BYTES / 4;
/** Short enough that a sender waiting to send a frame bigger than what is left of the window barely notices. */
export const WEBRTC_ACK_DELAY_MS = 20;
/** RFC 8841: a peer whose SDP has no a=max-message-size can receive messages of 64 KiB. */
export const SCTP_DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/** After an orderly close, how long we wait for the remote to end the connection before we do. */
export const WEBRTC_CLOSE_FLUSH_TIMEOUT_MS = 2_000;
/**
 * Sent as a text message after the last frame, to close in order; the receiver then ends the
 * connection. Measured with node-datachannel: closing the connection right after the channel loses
 * data still in flight (libdatachannel reports the local channel closed at once), and the remote's
 * channel 'close' event can overtake messages not yet handed to JavaScript (1 of 3 frames arrived).
 */
export const WEBRTC_CLOSE_MARKER = 'swarmdrop/close';
/** Text control message "swarmdrop/ack <bytes>": total frame bytes delivered so far (see WEBRTC_WINDOW_BYTES). */
const ACK_PREFIX = 'swarmdrop/ack ';
/** 'disconnected' can heal (a network blip); only after this long do we give the connection up. */
export const WEBRTC_DISCONNECT_GRACE_MS = 5_000;
/** Signalling to open channel; loopback takes ~10 ms (or ~1 s, see createWebRtcConnection). */
export const WEBRTC_OPEN_TIMEOUT_MS = 15_000;
/** Label of our one data channel. */
export const WEBRTC_CHANNEL_LABEL = 'swarmdrop';

export type CandidateInfo = { address: string; port: number; type: string };
export type SelectedCandidatePair = { local: CandidateInfo; remote: CandidateInfo };

/** Wraps an event handler so that nothing throws back into native event dispatch (that once killed the process). */
function guarded<A extends unknown[]>(fn: (...args: A) => void, onError: (err: unknown) => void) {
  return (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      try {
        onError(err);
      } catch {
        // The error handler failed too; there is nobody left to tell.
      }
    }
  };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Adds a listener and returns its removal. */
function listen(target: EventTarget, type: string, listener: (e: Event) => void): () => void {
  target.addEventListener(type, listener);
  return () => target.removeEventListener(type, listener);
}

/**
 * A Transport over one open, reliable, ordered RTCDataChannel and the RTCPeerConnection under it
 * (it owns and closes both). A frame is one data-channel message: SCTP keeps the boundaries.
 *
 * `maxFrameBytes` is the smaller of MAX_FRAME_BYTES and the maximum message size the remote
 * advertised (Chromium 256 KiB, node-datachannel what it was configured with). Larger frames are
 * refused with FRAME_TOO_LARGE: the layer above must size its chunks to `maxFrameBytes`.
 *
 * Back-pressure: frames go to the channel, in order, while `bufferedAmount` is under
 * WEBRTC_HIGH_WATER_BYTES and the receiver has acknowledged all but WEBRTC_WINDOW_BYTES of what we
 * sent; their `send` resolves then (the channel copies them). The rest wait here until
 * 'bufferedamountlow' or an acknowledgement. Nothing is dropped. Control messages (acknowledgements,
 * the close marker) are the channel's only text messages; frames are always binary.
 *
 * Frames that arrive before anyone listens for 'frame' are held and delivered to the first listener,
 * so nothing is lost between the channel opening and the caller receiving the transport.
 */
export class WebRtcTransport extends Emitter<TransportEvents> implements Transport {
  readonly kind = 'webrtc' as const;
  readonly maxFrameBytes: number;
  /** Time from the start of negotiation to the open channel, where known. */
  readonly setupMs: number | null;
  readonly #pc: RTCPeerConnection;
  readonly #channel: RTCDataChannel;
  readonly #maxIncomingFrameBytes: number;
  readonly #queue: { frame: Uint8Array; resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly #detach: (() => void)[] = [];
  #held: Uint8Array[] | null = [];
  #closed = false;
  #remoteClosed = false;
  /** Frame bytes sent / acknowledged by the remote (sender side of the window). */
  #sentBytes = 0;
  #ackedBytes = 0;
  /** Frame bytes delivered to our listeners / acknowledged to the remote (receiver side). */
  #consumedBytes = 0;
  #reportedBytes = 0;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;
  #candidatePair: SelectedCandidatePair | null = null;
  #disconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #finishShutdown!: () => void;
  /** Resolves once the peer connection itself is closed (after `close` and its flush). */
  readonly shutDown = new Promise<void>((resolve) => (this.#finishShutdown = resolve));

  constructor(
    pc: RTCPeerConnection,
    channel: RTCDataChannel,
    options: { maxIncomingFrameBytes?: number; setupMs?: number } = {},
  ) {
    super();
    this.#pc = pc;
    this.#channel = channel;
    this.setupMs = options.setupMs ?? null;
    this.#maxIncomingFrameBytes = options.maxIncomingFrameBytes ?? MAX_FRAME_BYTES;
    // null before the SCTP association is up (node-datachannel) or when the remote sent no limit.
    this.maxFrameBytes = Math.min(MAX_FRAME_BYTES, pc.sctp?.maxMessageSize ?? SCTP_DEFAULT_MAX_MESSAGE_BYTES);
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = WEBRTC_LOW_WATER_BYTES;
    const fail = (err: unknown): void =>
      this.close(
        new SwarmError('TRANSPORT_ERROR', `WebRTC transport failed: ${messageOf(err)}`, { cause: err }),
      );
    this.#detach.push(
      listen(
        channel,
        'message',
        guarded((e) => this.#onMessage((e as MessageEvent).data), fail),
      ),
      listen(
        channel,
        'bufferedamountlow',
        guarded(() => this.#flush(), fail),
      ),
      listen(
        channel,
        'close',
        guarded(() => this.close(abruptEnd('closed its data channel')), fail),
      ),
      listen(
        channel,
        'error',
        guarded((e) => fail((e as RTCErrorEvent).error ?? 'data channel error'), fail),
      ),
      listen(
        pc,
        'connectionstatechange',
        guarded(() => this.#onConnectionState(), fail),
      ),
    );
    if (channel.readyState !== 'open') {
      queueMicrotask(() => this.close(new SwarmError('TRANSPORT_CLOSED', 'the data channel is not open')));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** The ICE candidate pair carrying the connection (see `refreshCandidatePair`). */
  get candidatePair(): SelectedCandidatePair | null {
    return this.#candidatePair;
  }
  get remoteAddress(): string | null {
    return this.#candidatePair?.remote.address ?? null;
  }
  get remotePort(): number | null {
    return this.#candidatePair?.remote.port ?? null;
  }
  get localAddress(): string | null {
    return this.#candidatePair?.local.address ?? null;
  }

  /** Reads the selected candidate pair from getStats (asynchronous in every implementation). */
  async refreshCandidatePair(): Promise<SelectedCandidatePair | null> {
    const pair = await selectedCandidatePair(this.#pc).catch(() => null);
    if (pair) this.#candidatePair = pair;
    return this.#candidatePair;
  }

  override on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    const off = super.on(event, listener);
    if (event === 'frame' && this.#held !== null) queueMicrotask(() => this.#releaseHeld());
    return off;
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new SwarmError('TRANSPORT_CLOSED', 'cannot send: the WebRTC connection is closed'),
      );
    }
    if (frame.length > this.maxFrameBytes) {
      const limit = `over the limit of ${this.maxFrameBytes} bytes (the negotiated maximum message size)`;
      return Promise.reject(
        new SwarmError('FRAME_TOO_LARGE', `cannot send a frame of ${frame.length} bytes, ${limit}`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
      this.#flush();
    });
  }

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#disconnectTimer !== null) clearTimeout(this.#disconnectTimer);
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    for (const detach of this.#detach.splice(0)) detach();
    for (const pending of this.#queue.splice(0)) {
      pending.reject(
        new SwarmError('TRANSPORT_CLOSED', 'the WebRTC connection closed before the frame was sent'),
      );
    }
    this.#held = null;
    this.#shutdown(err === undefined && !this.#remoteClosed && this.#sendCloseMarker());
    this.emit('close', err);
  }

  /** Hands queued frames to the channel, in order, while under the high-water mark and the window. */
  #flush(): void {
    while (
      !this.#closed &&
      this.#queue.length > 0 &&
      this.#channel.bufferedAmount < WEBRTC_HIGH_WATER_BYTES
    ) {
      const unacknowledged = this.#sentBytes - this.#ackedBytes;
      // A frame larger than the window goes alone, once everything before it is acknowledged.
      if (unacknowledged > 0 && unacknowledged + this.#queue[0]!.frame.length > WEBRTC_WINDOW_BYTES) return;
      const next = this.#queue.shift()!;
      try {
        this.#channel.send(next.frame as Uint8Array<ArrayBuffer>);
      } catch (err) {
        next.reject(
          new SwarmError('TRANSPORT_CLOSED', `the data channel refused the frame: ${messageOf(err)}`),
        );
        this.close(
          new SwarmError('TRANSPORT_ERROR', `the data channel failed: ${messageOf(err)}`, { cause: err }),
        );
        return;
      }
      this.#sentBytes += next.frame.length;
      next.resolve();
    }
  }

  /** Counts frame bytes handed to our listeners and acknowledges them (see WEBRTC_WINDOW_BYTES). */
  #consumed(bytes: number): void {
    if (this.#closed) return; // a listener closed us: nothing more to acknowledge
    this.#consumedBytes += bytes;
    const pending = this.#consumedBytes - this.#reportedBytes;
    if (pending >= WEBRTC_ACK_EVERY_BYTES) this.#acknowledge();
    else this.#ackTimer ??= setTimeout(() => this.#acknowledge(), WEBRTC_ACK_DELAY_MS);
  }

  #acknowledge(): void {
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (this.#closed || this.#consumedBytes === this.#reportedBytes) return;
    this.#reportedBytes = this.#consumedBytes;
    try {
      this.#channel.send(`${ACK_PREFIX}${this.#consumedBytes}`);
    } catch (err) {
      this.close(
        new SwarmError('TRANSPORT_ERROR', `the data channel failed: ${messageOf(err)}`, { cause: err }),
      );
    }
  }

  #onAck(text: string): void {
    const total = Number(text.slice(ACK_PREFIX.length));
    if (!Number.isSafeInteger(total) || total < this.#ackedBytes || total > this.#sentBytes) {
      this.close(
        new SwarmError(
          'TRANSPORT_ERROR',
          `the remote acknowledged ${text.slice(ACK_PREFIX.length)} bytes; we sent ${this.#sentBytes}`,
        ),
      );
      return;
    }
    this.#ackedBytes = total;
    this.#flush();
  }

  /** True when the marker went out, so the remote will end the connection once it has read it. */
  #sendCloseMarker(): boolean {
    try {
      if (this.#channel.readyState !== 'open') return false;
      this.#channel.send(WEBRTC_CLOSE_MARKER);
      return true;
    } catch {
      return false;
    }
  }

  #onMessage(data: unknown): void {
    if (this.#closed) return;
    if (data === WEBRTC_CLOSE_MARKER) {
      // Every frame the remote sent came before this; it waits for us to end the connection.
      this.#remoteClosed = true;
      this.close();
      return;
    }
    if (typeof data === 'string' && data.startsWith(ACK_PREFIX)) return this.#onAck(data);
    if (!(data instanceof ArrayBuffer)) {
      // Frames are binary and our control messages are known; anything else is not our protocol.
      this.close(
        new SwarmError('TRANSPORT_ERROR', 'the remote sent an unknown text message on the data channel'),
      );
      return;
    }
    if (data.byteLength > this.#maxIncomingFrameBytes) {
      const limit = `over the limit of ${this.#maxIncomingFrameBytes} bytes`;
      this.close(
        new SwarmError('FRAME_TOO_LARGE', `the remote sent a frame of ${data.byteLength} bytes, ${limit}`),
      );
      return;
    }
    const frame = new Uint8Array(data);
    if (this.#held !== null) return void this.#held.push(frame);
    this.emit('frame', frame);
    this.#consumed(frame.length);
  }

  #releaseHeld(): void {
    const held = this.#held;
    this.#held = null;
    for (const frame of held ?? []) {
      if (this.#closed) return;
      this.emit('frame', frame);
      this.#consumed(frame.length);
    }
  }

  #onConnectionState(): void {
    const state = this.#pc.connectionState;
    if (state === 'disconnected') {
      this.#disconnectTimer ??= setTimeout(() => {
        const why = `the WebRTC connection stayed disconnected for ${WEBRTC_DISCONNECT_GRACE_MS} ms`;
        this.close(new SwarmError('TRANSPORT_ERROR', why));
      }, WEBRTC_DISCONNECT_GRACE_MS);
      return;
    }
    if (this.#disconnectTimer !== null) clearTimeout(this.#disconnectTimer);
    this.#disconnectTimer = null;
    if (state === 'failed') this.close(new SwarmError('TRANSPORT_ERROR', 'the WebRTC connection failed'));
    // 'closed' here means the remote ended the association (DTLS close_notify) without our marker.
    else if (state === 'closed') this.close(abruptEnd('closed the connection'));
  }

  /**
   * After the close marker, the remote ends the connection once it has read everything; we close
   * ours when it does (or after WEBRTC_CLOSE_FLUSH_TIMEOUT_MS). Otherwise close it at once.
   */
  #shutdown(awaitRemote: boolean): void {
    const pc = this.#pc;
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const stopWatching: (() => void)[] = [];
    const closeConnection = (): void => {
      clearTimeout(timer);
      for (const stop of stopWatching.splice(0)) stop();
      try {
        pc.close();
      } catch {
        // Already torn down by the native side: closed either way.
      }
      this.#finishShutdown();
    };
    if (!awaitRemote) return closeConnection();
    timer = setTimeout(closeConnection, WEBRTC_CLOSE_FLUSH_TIMEOUT_MS);
    const onState = (): void => {
      if (pc.connectionState !== 'connected' && pc.connectionState !== 'connecting') closeConnection();
    };
    stopWatching.push(
      listen(pc, 'connectionstatechange', guarded(onState, closeConnection)),
      listen(
        this.#channel,
        'close',
        guarded(closeConnection, () => {}),
      ),
    );
  }
}

/** The remote went away without the close marker: frames it sent may be lost, so it is an error. */
function abruptEnd(what: string): SwarmError {
  return new SwarmError('TRANSPORT_CLOSED', `the remote ${what} without closing the transport first`);
}

/** The selected ICE candidate pair from getStats (standard `address`, or the older `ip` that node-datachannel reports). */
export async function selectedCandidatePair(pc: RTCPeerConnection): Promise<SelectedCandidatePair | null> {
  const report = await pc.getStats();
  const stats = new Map<string, Record<string, unknown>>();
  report.forEach((s: Record<string, unknown>) => stats.set(String(s.id), s));
  let pair: Record<string, unknown> | undefined;
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string')
      pair = stats.get(s.selectedCandidatePairId);
  }
  // Firefox has no selectedCandidatePairId: take the nominated pair that succeeded.
  pair ??= [...stats.values()].find(
    (s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded',
  );
  const info = (id: unknown): CandidateInfo | null => {
    const c = stats.get(String(id));
    const address = c?.address ?? c?.ip;
    if (typeof address !== 'string' || typeof c?.port !== 'number') return null;
    return { address, port: c.port, type: String(c.candidateType ?? 'unknown') };
  };
  const local = info(pair?.localCandidateId);
  const remote = info(pair?.remoteCandidateId);
  return local && remote ? { local, remote } : null;
}

/** The address of an ICE candidate line ("candidate:1 1 UDP 2114977791 127.0.0.1 5000 typ host"). */
export function candidateAddress(candidate: string): string | null {
  const fields = candidate
    .replace(/^a=/, '')
    .replace(/^candidate:/, '')
    .trim()
    .split(/\s+/);
  return fields[4] ?? null;
}

/**
 * The DTLS certificate fingerprints an SDP declares ("sha-256 AB:CD:..."), normalised and joined by
 * ", " when there are several (one per media section), or null when there is none.
 */
export function sdpFingerprints(sdp: string | null | undefined): string | null {
  const found = new Set<string>();
  for (const match of (sdp ?? '').matchAll(/^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm)) {
    found.add(`${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}`);
  }
  return found.size > 0 ? [...found].join(', ') : null;
}

/**
 * Parses an --ice-server value: "stun:host[:port]", or "turn:USER:PASS@host[:port][?transport=udp|tcp]"
 * (also stuns:/turns:). USER and PASS may be percent-encoded (for ':' or '@' inside them).
 */
export function parseIceServerUrl(url: string): RTCIceServer {
  // Errors end up in logs: never repeat the password.
  const shown = url.replace(/^(\s*turns?:[^:@]*:)[^@]*@/i, '$1***@');
  const bad = (why: string): TypeError =>
    new TypeError(
      `invalid ICE server "${shown}": ${why} (expected stun:host:port or turn:USER:PASS@host:port)`,
    );
  const scheme = /^(stuns?|turns?):(.+)$/i.exec(url.trim());
  if (!scheme) throw bad('it must start with stun:, stuns:, turn: or turns:');
  const kind = scheme[1]!.toLowerCase();
  let rest = scheme[2]!;
  let credentials: { username: string; credential: string } | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    if (kind.startsWith('stun')) throw bad('a STUN server takes no credentials');
    const userPass = rest.slice(0, at);
    const colon = userPass.indexOf(':');
    if (colon <= 0 || colon === userPass.length - 1)
      throw bad('TURN credentials must be USER:PASS, both non-empty');
    try {
      credentials = {
        username: decodeURIComponent(userPass.slice(0, colon)),
        credential: decodeURIComponent(userPass.slice(colon + 1)),
      };
    } catch {
      throw bad('the credentials are not valid percent-encoding');
    }
    rest = rest.slice(at + 1);
  } else if (kind.startsWith('turn')) {
    throw bad('a TURN server needs credentials');
  }
  const host = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/.exec(rest);
  if (!host) throw bad('the host must be a name or address, optionally with :port');
  if (host[2] !== undefined && !(Number(host[2]) >= 1 && Number(host[2]) <= 65_535)) {
    throw bad('the port must be from 1 to 65535');
  }
  const urls = `${kind}:${rest}`;
  return credentials ? { urls, ...credentials } : { urls };
}

/** The RTCPeerConnection constructor: the browser's own, or node-datachannel's polyfill. */
export type RtcPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** What the two sides exchange through signalling, in order. */
export type WebRtcSignal = { sdp: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit };

export type WebRtcConnectionOptions = {
  RTCPeerConnection: RtcPeerConnectionConstructor;
  /** STUN/TURN servers (see parseIceServerUrl); default none, so nothing is asked of third parties. */
  iceServers?: RTCIceServer[];
  /** The offerer creates the data channel; the answerer takes it from 'datachannel'. */
  role: 'offerer' | 'answerer';
  /** Sends one message to the other side (they must reach its `handle` in order). */
  signal: (msg: WebRtcSignal) => void;
  /** node-datachannel only (browsers ignore it): gather candidates on this address alone. */
  bindAddress?: string;
  /** Local candidates for which this returns false are not signalled (tests: loopback only). */
  candidateFilter?: (candidate: string) => boolean;
  /** Largest message we accept, advertised as a=max-message-size; node-datachannel only (default MAX_FRAME_BYTES). */
  maxMessageSize?: number;
  /**
   * Offerer only, off by default: signal the offer with a=setup:active instead of actpass, so the
   * offerer is the DTLS client. Works around libdatachannel 0.24.5 leaving an early ClientHello
   * unprocessed until its 1 s retransmission (see the report); JSEP says offers carry actpass.
   */
  offererDtlsClient?: boolean;
  /** Give up if the channel is not open this long after creation (default WEBRTC_OPEN_TIMEOUT_MS). */
  openTimeoutMs?: number;
};

export interface WebRtcConnection {
  /** Processes one message from the other side; messages are processed one at a time, in order. */
  handle(msg: WebRtcSignal): Promise<void>;
  /** Resolves with the transport once the data channel is open; rejects if negotiation fails. */
  readonly transport: Promise<WebRtcTransport>;
  /** The a=fingerprint values of the local and remote SDP (what the handshake binds identities to). */
  fingerprints(): { local: string | null; remote: string | null };
  /** Closes the transport, or abandons the negotiation; safe to call twice. */
  close(): void;
}

/**
 * Negotiates one RTCPeerConnection with one reliable ordered data channel over caller-provided
 * signalling (trickle ICE). Remote candidates that arrive before the remote description is set are
 * queued: node-datachannel's addIceCandidate throws if it runs first.
 */
export function createWebRtcConnection(options: WebRtcConnectionOptions): WebRtcConnection {
  const started = performance.now();
  const maxMessageSize = Math.min(options.maxMessageSize ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES);
  // Extra keys reach libdatachannel through node-datachannel's polyfill; browsers ignore them.
  const config = {
    iceServers: options.iceServers ?? [],
    maxMessageSize,
    ...(options.bindAddress !== undefined && { bindAddress: options.bindAddress }),
  };
  const pc = new options.RTCPeerConnection(config as RTCConfiguration);
  let state: 'negotiating' | 'opening' | 'open' | 'closed' = 'negotiating';
  let transport: WebRtcTransport | null = null;
  let localSdp: string | null = null;
  let remoteSdp: string | null = null;
  const earlyCandidates: RTCIceCandidateInit[] = [];
  let chain: Promise<void> = Promise.resolve();
  let settle!: { resolve: (t: WebRtcTransport) => void; reject: (err: Error) => void };
  const transportReady = new Promise<WebRtcTransport>((resolve, reject) => (settle = { resolve, reject }));
  transportReady.catch(() => {}); // a caller that never awaits it must not crash the process
  const detach: (() => void)[] = [];
  const timeoutMs = options.openTimeoutMs ?? WEBRTC_OPEN_TIMEOUT_MS;
  const timer = setTimeout(
    () =>
      fail(new SwarmError('CONNECT_TIMEOUT', `the WebRTC data channel did not open within ${timeoutMs} ms`)),
    timeoutMs,
  );

  function fail(err: Error): void {
    if (state === 'open' || state === 'closed') return;
    state = 'closed';
    clearTimeout(timer);
    for (const off of detach.splice(0)) off();
    transport?.close(err);
    try {
      pc.close();
    } catch {
      // Already closed.
    }
    settle.reject(err);
  }
  const failWith = (err: unknown): void =>
    fail(
      err instanceof SwarmError
        ? err
        : new SwarmError('CONNECT_FAILED', `WebRTC negotiation failed: ${messageOf(err)}`, { cause: err }),
    );
  const signal = (msg: WebRtcSignal): void => {
    if (state !== 'closed') options.signal(msg);
  };

  async function opened(channel: RTCDataChannel): Promise<void> {
    if (state !== 'negotiating') return;
    state = 'opening';
    // Built at once, so its listeners catch the first messages; resolved once addresses are known.
    const setupMs = Math.round(performance.now() - started);
    transport = new WebRtcTransport(pc, channel, { maxIncomingFrameBytes: maxMessageSize, setupMs });
    await transport.refreshCandidatePair();
    if (state !== 'opening') return;
    if (transport.closed)
      return fail(new SwarmError('TRANSPORT_CLOSED', 'the WebRTC connection closed as it opened'));
    state = 'open';
    clearTimeout(timer);
    for (const off of detach.splice(0)) off();
    settle.resolve(transport);
  }
  function adopt(channel: RTCDataChannel): void {
    channel.binaryType = 'arraybuffer';
    if (channel.readyState === 'open') void opened(channel).catch(failWith);
    else
      detach.push(
        listen(
          channel,
          'open',
          guarded(() => void opened(channel).catch(failWith), failWith),
        ),
      );
  }

  detach.push(
    listen(
      pc,
      'icecandidate',
      guarded((e) => {
        const c = (e as RTCPeerConnectionIceEvent).candidate;
        if (!c?.candidate) return; // end of candidates
        if (options.candidateFilter && !options.candidateFilter(c.candidate)) return;
        signal({ candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
      }, failWith),
    ),
    listen(
      pc,
      'connectionstatechange',
      guarded(() => {
        if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
          fail(
            new SwarmError(
              'CONNECT_FAILED',
              `the WebRTC connection ${pc.connectionState} before the channel opened`,
            ),
          );
        }
      }, failWith),
    ),
  );

  const isClosed = (): boolean => state === 'closed' || transport?.closed === true;
  async function addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (isClosed()) return; // the native side throws after close
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      if (isClosed()) return;
      throw new SwarmError('BAD_CONTENT', `the remote ICE candidate was rejected: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  async function processSignal(msg: WebRtcSignal): Promise<void> {
    if (state === 'closed') return;
    if ('sdp' in msg && msg.sdp && typeof msg.sdp.sdp === 'string') {
      const expected = options.role === 'offerer' ? 'answer' : 'offer';
      if (msg.sdp.type !== expected || remoteSdp !== null) {
        throw new SwarmError(
          'BAD_CONTENT',
          `unexpected ${msg.sdp.type} (the ${options.role} takes one ${expected})`,
        );
      }
      try {
        await pc.setRemoteDescription({ type: msg.sdp.type, sdp: msg.sdp.sdp });
        remoteSdp = msg.sdp.sdp;
        for (const candidate of earlyCandidates.splice(0)) await addCandidate(candidate);
        if (options.role === 'answerer') {
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          localSdp = answer.sdp ?? null;
          signal({ sdp: { type: 'answer', sdp: answer.sdp } });
        }
      } catch (err) {
        failWith(err);
        throw err;
      }
    } else if ('candidate' in msg && msg.candidate && typeof msg.candidate.candidate === 'string') {
      if (remoteSdp === null) earlyCandidates.push(msg.candidate);
      else await addCandidate(msg.candidate);
    } else {
      throw new SwarmError('BAD_CONTENT', 'a WebRTC signal must carry an sdp or a candidate');
    }
  }

  if (options.role === 'offerer') {
    adopt(pc.createDataChannel(WEBRTC_CHANNEL_LABEL, { ordered: true }));
    chain = (async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      localSdp = offer.sdp ?? null;
      const sdp = options.offererDtlsClient
        ? localSdp?.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active')
        : localSdp;
      signal({ sdp: { type: 'offer', sdp: sdp ?? undefined } });
    })().catch(failWith);
  } else {
    detach.push(
      listen(
        pc,
        'datachannel',
        guarded((e) => {
          const channel = (e as RTCDataChannelEvent).channel;
          if (transport === null && channel.label === WEBRTC_CHANNEL_LABEL) adopt(channel);
          else channel.close(); // we use exactly one channel
        }, failWith),
      ),
    );
  }

  return {
    handle(msg) {
      const task = chain.then(() => processSignal(msg));
      chain = task.catch(() => {});
      return task;
    },
    transport: transportReady,
    fingerprints: () => ({ local: sdpFingerprints(localSdp), remote: sdpFingerprints(remoteSdp) }),
    close() {
      if (transport) transport.close();
      fail(new SwarmError('TRANSPORT_CLOSED', 'the WebRTC connection was closed before its channel opened'));
    },
  };
}
