/**
 * The tab's link to its bootstrap signalling endpoint: joins it, hands the joined client to the
 * WebRTC linker, and when the endpoint cannot be reached or goes away, says so in plain words and
 * tries again with back-off. Isomorphic: the WebSocket constructor is passed in.
 */
import { Backoff } from '../peer/backoff.ts';
import type { Identity } from '../peer/identity.ts';
import { SignallingClient } from '../peer/signalling/client.ts';
import type { WebSocketConstructorLike } from '../peer/signalling/client.ts';
import type { WebRtcLinker } from '../peer/webrtc-linker.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';
import type { BootstrapState } from './view.ts';

/** First retry soon (a node restarting), then back off to at most half a minute. */
const RETRY_INITIAL_MS = 2_000;
const RETRY_MAX_MS = 30_000;

export interface BootstrapLinkOptions {
  identity: Identity;
  name: string;
  linker: WebRtcLinker;
  WebSocket: WebSocketConstructorLike;
  log: Logger;
}

export class BootstrapLink extends Emitter<{ change: () => void }> {
  readonly #o: BootstrapLinkOptions;
  #url = '';
  #state: BootstrapState = 'closed';
  #error: string | null = null;
  #client: SignallingClient | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #backoff = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS });
  /** Bumped on every (re)start, so a late answer from an abandoned attempt is ignored. */
  #generation = 0;

  constructor(options: BootstrapLinkOptions) {
    super();
    this.#o = options;
  }

  get url(): string {
    return this.#url;
  }
  get state(): BootstrapState {
    return this.#state;
  }
  get error(): string | null {
    return this.#error;
  }
  /** The joined client (a channel to signal peers present there), null while not joined. */
  get client(): SignallingClient | null {
    return this.#state === 'joined' ? this.#client : null;
  }

  /** Switches to `url` (ws:// or wss:// …/signal); resolves after the first attempt, joined or not. */
  async use(url: string): Promise<void> {
    this.#url = url;
    this.#backoff.reset();
    const generation = ++this.#generation; // first, so the old client's close is not taken for a loss
    await this.#stop();
    await this.#attempt(generation);
  }

  async close(): Promise<void> {
    this.#generation++;
    await this.#stop();
    this.#set('closed', null);
  }

  async #attempt(generation: number): Promise<void> {
    this.#set('connecting', this.#error);
    const client = new SignallingClient({ identity: this.#o.identity, kind: 'browser', name: this.#o.name, WebSocket: this.#o.WebSocket });
    this.#client = client;
    client.on('error', (err) => this.#o.log.warn({ reason: err.message }, 'signalling error'));
    this.#o.linker.listen(client);
    try {
      await client.connect(this.#url);
      if (generation !== this.#generation) return void client.close().catch(() => {});
      this.#backoff.reset();
      this.#set('joined', null);
      client.on('close', () => {
        if (generation !== this.#generation) return;
        this.#unreachable(generation, 'The connection to the bootstrap node was lost.');
      });
      await this.#o.linker.linkPresent(client);
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#o.log.warn({ url: this.#url, reason: (err as Error).message }, 'could not join the bootstrap endpoint');
      await client.close().catch(() => {});
      this.#unreachable(generation, `Could not reach the bootstrap node at ${this.#url}.`);
    }
  }

  #unreachable(generation: number, what: string): void {
    const delayMs = this.#backoff.next();
    const seconds = Math.round(delayMs / 1000);
    this.#set(
      'unreachable',
      `${what} Check that the node is running and that the address is right, or set another bootstrap ` +
        `address in the settings. Peers already connected stay connected. Trying again in ${seconds} s.`,
    );
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (generation === this.#generation) void this.#attempt(generation);
    }, delayMs);
  }

  async #stop(): Promise<void> {
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    const client = this.#client;
    this.#client = null;
    await client?.close().catch(() => {});
  }

  #set(state: BootstrapState, error: string | null): void {
    this.#state = state;
    this.#error = error;
    this.emit('change');
  }
}
