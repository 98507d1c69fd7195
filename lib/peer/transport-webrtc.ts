/**
 * WebRTC data-channel transport over the standard RTCPeerConnection API: one code path for the
 * browser's own RTCPeerConnection and node-datachannel's polyfill (passed in, never sniffed; see
 * transport-webrtc.node.ts). Its pieces live in ./webrtc/: the offer/answer helper that builds it
 * (connect.ts), the acknowledgement window (ack-window.ts), ICE servers and candidate pairs (ice.ts),
 * SDP fingerprints (sdp.ts).
 */
import { MAX_FRAME_BYTES } from './constants.ts';
import { SwarmError } from './errors.ts';
import type { Transport, TransportEvents } from './transport.ts';
import { Emitter } from '../util/emitter.ts';
import { AckWindow, isAckMessage } from './webrtc/ack-window.ts';
import { selectedCandidatePair } from './webrtc/ice.ts';
import type { SelectedCandidatePair } from './webrtc/ice.ts';
import { guarded, listen, messageOf } from './webrtc/native-events.ts';

/**
 * `send` hands frames to the channel at once while its `bufferedAmount` is under this mark.
 * Measured node<->node, 64 MiB of 64 KiB frames (noisy shared 2-core machine): marks of 64-256 KiB
 * ran 25-36 MB/s, 1 MiB 37-41 MB/s, 4 MiB no better; NOTES-WEBRTC saw 35 vs 46-48 MB/s for 64 KiB vs 1 MiB.
 */
export const WEBRTC_HIGH_WATER_BYTES = 1024 * 1024;
/** While frames wait for back-pressure to ease, the channel is re-checked at least this often. */
const BACKPRESSURE_RECHECK_MS = 50;
/** Queued sends resume when `bufferedAmount` falls to this: half a mark is left to send meanwhile. */
export const WEBRTC_LOW_WATER_BYTES = WEBRTC_HIGH_WATER_BYTES / 2;
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
/** 'disconnected' can heal (a network blip); only after this long do we give the connection up. */
export const WEBRTC_DISCONNECT_GRACE_MS = 5_000;

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
 * sent (see webrtc/ack-window.ts); their `send` resolves then (the channel copies them). The rest wait here until
 * 'bufferedamountlow' or an acknowledgement. Nothing is dropped. Control messages (acknowledgements,
 * the close marker) are the channel's only text messages; frames are always binary.
 *
 * Frames that arrive before anyone listens for 'frame' are held and delivered to the first listener,
 * so nothing is lost between the channel opening and the caller receiving the transport.
 */
export class WebRtcTransport extends Emitter<TransportEvents> implements Transport {
  readonly kind = 'webrtc' as const;
  /** Both DTLS fingerprints, sorted: the handshake binds the peers' identity proofs to them. */
  readonly channelBinding: string | undefined;
  /** Data channels always run over DTLS. */
  readonly encrypted = true;
  readonly maxFrameBytes: number;
  /** Time from the start of negotiation to the open channel, where known. */
  readonly setupMs: number | null;
  readonly #pc: RTCPeerConnection;
  readonly #channel: RTCDataChannel;
  readonly #maxIncomingFrameBytes: number;
  readonly #queue: { frame: Uint8Array; resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly #detach: (() => void)[] = [];
  #held: Uint8Array[] | null = [];
  #recheck: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #remoteClosed = false;
  readonly #window = new AckWindow((message) => this.#sendAck(message));
  #candidatePair: SelectedCandidatePair | null = null;
  #disconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #finishShutdown!: () => void;
  /** Resolves once the peer connection itself is closed (after `close` and its flush). */
  readonly shutDown = new Promise<void>((resolve) => (this.#finishShutdown = resolve));

  constructor(
    pc: RTCPeerConnection,
    channel: RTCDataChannel,
    options: { maxIncomingFrameBytes?: number; setupMs?: number; channelBinding?: string } = {},
  ) {
    super();
    this.channelBinding = options.channelBinding;
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
    if (this.#recheck !== null) clearTimeout(this.#recheck);
    this.#window.stop();
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
      if (!this.#window.admits(this.#queue[0]!.frame.length)) return;
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
      this.#window.sent(next.frame.length);
      next.resolve();
    }
    // Frames still waiting: 'bufferedamountlow' and acknowledgements wake us, but node-datachannel was
    // seen (once, under load) to leave a sender waiting forever, so a slow poll backs them up.
    if (!this.#closed && this.#queue.length > 0 && this.#recheck === null) {
      this.#recheck = setTimeout(() => {
        this.#recheck = null;
        this.#flush();
      }, BACKPRESSURE_RECHECK_MS);
    }
  }

  /** Puts an acknowledgement of the window on the channel (never called once we are closed). */
  #sendAck(message: string): void {
    try {
      this.#channel.send(message);
    } catch (err) {
      this.close(
        new SwarmError('TRANSPORT_ERROR', `the data channel failed: ${messageOf(err)}`, { cause: err }),
      );
    }
  }

  #onAck(message: string): void {
    const unbelievable = this.#window.acknowledged(message);
    if (unbelievable) return this.close(unbelievable);
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
    if (isAckMessage(data)) return this.#onAck(data);
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
    this.#window.consumed(frame.length);
  }

  #releaseHeld(): void {
    const held = this.#held;
    this.#held = null;
    for (const frame of held ?? []) {
      if (this.#closed) return;
      this.emit('frame', frame);
      this.#window.consumed(frame.length);
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
