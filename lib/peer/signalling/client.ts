import { bytesToBase64 } from '../../util/base64.ts';
import { Emitter } from '../../util/emitter.ts';
import { realTimers } from '../../util/timers.ts';
import type { TimerHandle, Timers } from '../../util/timers.ts';
import type { PeerKind } from '../handshake.ts';
import type { Identity } from '../identity.ts';
import { SIGNAL_MAX_MESSAGE_BYTES, joinTranscript, messageBytes, parseServerMessage } from './messages.ts';
import type { ClientMessageInput, ServerMessage, SignalPeerInfo } from './messages.ts';

/**
 * A client of a node's `/signal` endpoint (docs/SIGNALLING.md): joins with an identity, lists the
 * peers present, sends and receives signals. It works in browsers and in Node: it only needs a
 * WebSocket with the standard API, passed in (Node 20 has no global one: pass `ws`'s WebSocket).
 * It does not reconnect: a closed client stays closed; reconnecting-client.ts makes new ones.
 */

/** The part of the standard WebSocket API this client uses; browsers' WebSocket and `ws` both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}
export type WebSocketConstructorLike = new (url: string) => WebSocketLike;

/** WebSocket.OPEN in the standard API. */
const WS_OPEN = 1;
/** How long `connect()` waits for `joined` and `list()` for `peers`: a loopback or LAN node answers at once. */
export const SIGNAL_REQUEST_TIMEOUT_MS = 10_000;

/**
 * `code` is one of the server's error codes (SIGNAL_ERROR_CODES), or one of the client's own:
 * `closed` (the socket closed first), `timeout`, `bad_state` (call out of order), `no_websocket`.
 * `ref` is the id of the request the error answers, as returned by `send()`.
 */
export class SignallingError extends Error {
  readonly code: string;
  readonly ref?: string;
  constructor(code: string, message: string, ref?: string) {
    super(message);
    this.name = 'SignallingError';
    this.code = code;
    if (ref !== undefined) this.ref = ref;
  }
}

export type SignallingClientEvents = {
  signal: (from: string, data: Record<string, unknown>) => void;
  'peer-joined': (peer: SignalPeerInfo) => void;
  'peer-left': (peerId: string) => void;
  /** Errors not tied to a pending `connect()`/`list()`: a refused `send`, a rate limit, a bad message. */
  error: (err: SignallingError) => void;
  close: (info: { code: number; reason: string }) => void;
};

export interface SignallingClientOptions {
  identity: Identity;
  kind: PeerKind;
  name?: string | null;
  /** The WebSocket constructor; defaults to the global one. */
  WebSocket?: WebSocketConstructorLike;
  timers?: Timers;
  requestTimeoutMs?: number;
}

export interface PeerPage {
  peers: SignalPeerInfo[];
  /** Cursor of the following page; absent on the last page. */
  next?: string;
}

export type SignallingClientState = 'idle' | 'connecting' | 'joining' | 'joined' | 'closed';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: SignallingError): void;
  timer: TimerHandle;
}

export class SignallingClient extends Emitter<SignallingClientEvents> {
  readonly #options: SignallingClientOptions;
  readonly #timers: Timers;
  #state: SignallingClientState = 'idle';
  #ws: WebSocketLike | undefined;
  #maxMessageBytes = SIGNAL_MAX_MESSAGE_BYTES;
  #nextRequestId = 1;
  #joinWaiter: Waiter<PeerPage> | undefined;
  readonly #listWaiters = new Map<string, Waiter<PeerPage>>();
  #markClosed!: () => void;
  readonly #closed = new Promise<void>((resolve) => (this.#markClosed = resolve));

  constructor(options: SignallingClientOptions) {
    super();
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
  }

  get state(): SignallingClientState {
    return this.#state;
  }

  get peerId(): string {
    return this.#options.identity.peerId;
  }

  /** Opens the socket, proves our id, and resolves with the first page of the other peers present. */
  connect(url: string): Promise<PeerPage> {
    if (this.#state !== 'idle') {
      return Promise.reject(new SignallingError('bad_state', `connect() on a client that is ${this.#state}`));
    }
    const Ctor = this.#options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructorLike | undefined);
    if (!Ctor) {
      return Promise.reject(
        new SignallingError(
          'no_websocket',
          'no global WebSocket here: pass options.WebSocket (in Node, ws.WebSocket)',
        ),
      );
    }
    this.#state = 'connecting';
    return new Promise<PeerPage>((resolve, reject) => {
      this.#joinWaiter = this.#waiter(resolve, reject, () => {
        this.#joinWaiter = undefined;
        this.#ws?.close(1000, 'join timed out');
      });
      let ws: WebSocketLike;
      try {
        ws = new Ctor(url);
      } catch (err) {
        this.#onClose(1006, `cannot open ${url}: ${(err as Error).message}`);
        return;
      }
      this.#ws = ws;
      ws.addEventListener('message', (event) => this.#onText(event.data));
      ws.addEventListener('close', (event) => this.#onClose(event.code, event.reason));
      ws.addEventListener('error', () => {}); // a 'close' always follows and carries what we can know
    });
  }

  /** One page of the peers present (ourselves left out), after `cursor`. */
  list(cursor?: string): Promise<PeerPage> {
    if (this.#state !== 'joined') return Promise.reject(this.#notJoined());
    const id = this.#requestId();
    return new Promise<PeerPage>((resolve, reject) => {
      this.#listWaiters.set(
        id,
        this.#waiter(resolve, reject, () => this.#listWaiters.delete(id)),
      );
      this.#write({ type: 'list', id, ...(cursor === undefined ? {} : { cursor }) });
    });
  }

  /** Every peer present, following the pages. */
  async listAll(): Promise<SignalPeerInfo[]> {
    const all: SignalPeerInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(cursor);
      all.push(...page.peers);
      cursor = page.next;
    } while (cursor !== undefined);
    return all;
  }

  /**
   * Sends `data` ({sdp, type} or {candidate, ...}) to peer `to` through the endpoint. Returns the
   * request id that an `error` event about this signal (e.g. `unknown_peer`) carries as `ref`.
   */
  send(to: string, data: Record<string, unknown>): string {
    if (this.#state !== 'joined') throw this.#notJoined();
    const id = this.#requestId();
    const text = JSON.stringify({ type: 'signal', to, data, id } satisfies ClientMessageInput);
    const bytes = messageBytes(text);
    if (bytes > this.#maxMessageBytes) {
      throw new SignallingError(
        'too_large',
        `signal is ${bytes} bytes; the endpoint accepts ${this.#maxMessageBytes}`,
        id,
      );
    }
    this.#ws!.send(text);
    return id;
  }

  /** Closes the socket; resolves once it is closed. Safe to call twice. */
  close(): Promise<void> {
    if (this.#ws === undefined) this.#onClose(1000, 'closed before connecting');
    else if (this.#state !== 'closed') this.#ws.close(1000, 'client closed');
    return this.#closed;
  }

  #onText(raw: unknown): void {
    if (typeof raw !== 'string') {
      this.emit('error', new SignallingError('bad_message', 'the endpoint sent a binary frame'));
      return;
    }
    const parsed = parseServerMessage(raw);
    // A type from a newer server is ignored, so the endpoint can grow without breaking old clients.
    if (!parsed.ok && parsed.code === 'unknown_type') return;
    if (!parsed.ok) {
      this.emit(
        'error',
        new SignallingError(parsed.code, `the endpoint sent an invalid message: ${parsed.reason}`),
      );
      return;
    }
    this.#handle(parsed.message);
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case 'challenge':
        if (message.limits) this.#maxMessageBytes = message.limits.max_message_bytes;
        this.#join(message.nonce).catch((err) =>
          this.#failJoin(
            new SignallingError('bad_state', `could not sign the join: ${(err as Error).message}`),
          ),
        );
        return;
      case 'joined':
        if (this.#state !== 'joining') return;
        this.#state = 'joined';
        this.#settle(this.#joinWaiter, pageOf(message));
        this.#joinWaiter = undefined;
        return;
      case 'peers': {
        const waiter = message.ref === undefined ? undefined : this.#listWaiters.get(message.ref);
        if (waiter) this.#listWaiters.delete(message.ref!);
        this.#settle(waiter, pageOf(message));
        return;
      }
      case 'signal':
        if (message.to === this.peerId) this.emit('signal', message.from, message.data);
        return;
      case 'peer-joined':
        this.emit('peer-joined', message.peer);
        return;
      case 'peer-left':
        this.emit('peer-left', message.peer_id);
        return;
      case 'error':
        this.#onServerError(new SignallingError(message.code, message.message, message.ref));
        return;
    }
  }

  async #join(nonce: string): Promise<void> {
    if (this.#state !== 'connecting') return;
    this.#state = 'joining';
    const { identity, kind, name } = this.#options;
    const signature = await identity.sign(joinTranscript(nonce, identity.peerId));
    this.#write({
      type: 'join',
      peer_id: identity.peerId,
      key: bytesToBase64(identity.publicKeyRaw),
      signature: bytesToBase64(signature),
      kind,
      name: name ?? null,
    });
  }

  #onServerError(err: SignallingError): void {
    const listWaiter = err.ref === undefined ? undefined : this.#listWaiters.get(err.ref);
    if (listWaiter) {
      this.#listWaiters.delete(err.ref!);
      this.#timers.clearTimeout(listWaiter.timer);
      listWaiter.reject(err);
    } else if (this.#joinWaiter && this.#state !== 'joined') {
      this.#failJoin(err);
    } else {
      this.emit('error', err);
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const err = new SignallingError(
      'closed',
      `signalling socket closed (${code}${reason ? ` ${reason}` : ''})`,
    );
    this.#failJoin(err);
    for (const waiter of this.#listWaiters.values()) {
      this.#timers.clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.#listWaiters.clear();
    this.emit('close', { code, reason });
    this.#markClosed();
  }

  #failJoin(err: SignallingError): void {
    const waiter = this.#joinWaiter;
    if (!waiter) return;
    this.#joinWaiter = undefined;
    this.#timers.clearTimeout(waiter.timer);
    waiter.reject(err);
    if (this.#state !== 'closed') this.#ws?.close(1000, 'join failed');
  }

  #waiter<T>(
    resolve: (value: T) => void,
    reject: (err: SignallingError) => void,
    onTimeout: () => void,
  ): Waiter<T> {
    const timeoutMs = this.#options.requestTimeoutMs ?? SIGNAL_REQUEST_TIMEOUT_MS;
    const timer = this.#timers.setTimeout(() => {
      onTimeout();
      reject(new SignallingError('timeout', `no answer from the signalling endpoint within ${timeoutMs} ms`));
    }, timeoutMs);
    return { resolve, reject, timer };
  }

  #settle(waiter: Waiter<PeerPage> | undefined, page: PeerPage): void {
    if (!waiter) return;
    this.#timers.clearTimeout(waiter.timer);
    waiter.resolve(page);
  }

  #write(message: ClientMessageInput): void {
    if (this.#ws?.readyState === WS_OPEN) this.#ws.send(JSON.stringify(message));
  }

  #requestId(): string {
    return String(this.#nextRequestId++);
  }

  #notJoined(): SignallingError {
    return new SignallingError('bad_state', `the client is ${this.#state}, not joined`);
  }
}

function pageOf(message: { peers: SignalPeerInfo[]; next?: string }): PeerPage {
  return message.next === undefined ? { peers: message.peers } : { peers: message.peers, next: message.next };
}
