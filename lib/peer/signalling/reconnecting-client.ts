import { Backoff } from '../backoff.ts';
import { Emitter } from '../../util/emitter.ts';
import { realTimers } from '../../util/timers.ts';
import type { TimerHandle, Timers } from '../../util/timers.ts';
import type { SignallingClient } from './client.ts';

/**
 * Keeps us joined to one signalling endpoint: a SignallingClient stays closed once its socket closes
 * (an endpoint restarted, a network blip), so this owner makes a fresh client and joins again, after
 * an exponential back-off with jitter (so every peer of a restarted endpoint does not come back in
 * the same instant). Isomorphic: the caller passes how to make a client (with the platform's
 * WebSocket) and what to do with each joined one (link to the peers present there).
 */
export type ReconnectingSignallingEvents = {
  /** A client joined (the first time, or again after a drop); it is the one to use until the next. */
  joined: (client: SignallingClient, attempt: number) => void;
  /** A join failed or a joined client closed; the next attempt is in `retryInMs`. */
  lost: (reason: string, retryInMs: number) => void;
};

export interface ReconnectingSignallingOptions {
  url: string;
  makeClient: () => SignallingClient;
  /** Runs on each joined client before `joined` is emitted (e.g. the WebRTC linker's `linkPresent`). */
  onJoined?: (client: SignallingClient) => Promise<void>;
  backoff?: Backoff;
  timers?: Timers;
}

export type ReconnectingState = 'idle' | 'joining' | 'joined' | 'waiting' | 'closed';

export class ReconnectingSignalling extends Emitter<ReconnectingSignallingEvents> {
  readonly url: string;
  readonly #options: ReconnectingSignallingOptions;
  readonly #backoff: Backoff;
  readonly #timers: Timers;
  #state: ReconnectingState = 'idle';
  #client: SignallingClient | undefined;
  #retry: TimerHandle | undefined;
  #joins = 0;

  constructor(options: ReconnectingSignallingOptions) {
    super();
    this.url = options.url;
    this.#options = options;
    this.#backoff = options.backoff ?? new Backoff();
    this.#timers = options.timers ?? realTimers;
  }

  get state(): ReconnectingState {
    return this.#state;
  }

  /** The client joined right now, if any. */
  get client(): SignallingClient | undefined {
    return this.#state === 'joined' ? this.#client : undefined;
  }

  /** Times a client joined so far (1 after the first join; more after each re-join). */
  get joins(): number {
    return this.#joins;
  }

  /** Makes the first attempt; resolves true when it joined, false when it failed (retries go on). */
  start(): Promise<boolean> {
    if (this.#state !== 'idle') return Promise.resolve(this.#state === 'joined');
    return this.#attempt();
  }

  /** Stops retrying and closes the current client. Safe to call twice. */
  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#retry !== undefined) this.#timers.clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#client?.close().catch(() => {});
  }

  async #attempt(): Promise<boolean> {
    if (this.#state === 'closed') return false;
    this.#state = 'joining';
    const client = this.#options.makeClient();
    this.#client = client;
    client.on('close', (info) => {
      if (this.#client !== client || this.#state !== 'joined') return;
      this.#lost(`the endpoint closed the socket (${info.code}${info.reason ? ` ${info.reason}` : ''})`);
    });
    try {
      await client.connect(this.url);
      await this.#options.onJoined?.(client);
    } catch (err) {
      await client.close().catch(() => {});
      if (this.#client === client) this.#lost((err as Error).message);
      return false;
    }
    if (this.#isClosed() || this.#client !== client) {
      await client.close().catch(() => {});
      return false;
    }
    if (client.state !== 'joined') {
      this.#lost('the socket closed while joining');
      return false;
    }
    this.#state = 'joined';
    this.#backoff.reset();
    this.#joins++;
    this.emit('joined', client, this.#joins);
    return true;
  }

  /** Read through a method: close() may change the state while an attempt awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #lost(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'waiting') return;
    this.#state = 'waiting';
    const delay = this.#backoff.next();
    this.emit('lost', reason, delay);
    this.#retry = this.#timers.setTimeout(() => {
      this.#retry = undefined;
      void this.#attempt();
    }, delay);
  }
}
