import { Backoff } from './backoff.ts';
import type { Connection } from './connection.ts';
import type { RemoteInfo } from './connection-types.ts';
import { SwarmError } from './errors.ts';
import type { Transport } from './transport.ts';
import type { Logger } from '../util/logger.ts';
import type { TimerHandle, Timers } from '../util/timers.ts';

export type DialFn = (host: string, port: number) => Promise<Transport>;

export interface DialTarget {
  host: string;
  port: number;
  backoff: Backoff;
  timer: TimerHandle | null;
  peerId: string | null;
  /** Redialled when the link drops: set once a dial succeeded, or for a known peer from an earlier run. */
  keep: boolean;
}

export interface DialTargetsOptions {
  dial: DialFn | undefined;
  /** Wraps a dialled transport in a connection (the Peer's attach, as dialler). */
  attach: (transport: Transport) => Connection;
  /** Whether an open connection to peerId exists already (then nothing is redialled). */
  isLinked: (peerId: string) => boolean;
  /** Whether the Peer is shutting down. */
  isClosed: () => boolean;
  timers: Timers;
  log: Logger;
}

/**
 * The host:port addresses a Peer dials: each remembered with its back-off, dialled once on request,
 * and redialled in the background whenever the link to it drops, until the Peer closes.
 */
export class DialTargets {
  readonly #options: DialTargetsOptions;
  #targets = new Map<string, DialTarget>();
  /** The dial target behind each connection we dialled. */
  #dialTargets = new WeakMap<Connection, DialTarget>();

  constructor(options: DialTargetsOptions) {
    this.#options = options;
  }

  /** The target for host:port, created on first use. */
  target(host: string, port: number): DialTarget {
    const key = `${host}:${port}`;
    let target = this.#targets.get(key);
    if (!target) {
      target = { host, port, backoff: new Backoff(), timer: null, peerId: null, keep: false };
      this.#targets.set(key, target);
    }
    return target;
  }

  /** The target a connection was dialled to; undefined for accepted connections. */
  targetOf(connection: Connection): DialTarget | undefined {
    return this.#dialTargets.get(connection);
  }

  /** Keeps redialling host:port in the background (a known peer from an earlier run). */
  keepDialling(host: string, port: number, peerId: string | null): void {
    const target = this.target(host, port);
    target.peerId ??= peerId;
    target.keep = true;
    this.#scheduleRedial(target, 0);
  }

  /** Dials the target and resolves once the handshake completes. */
  async dialOnce(target: DialTarget): Promise<RemoteInfo> {
    const { dial, isClosed } = this.#options;
    if (!dial) throw new SwarmError('CONNECT_FAILED', 'this peer cannot dial');
    if (isClosed()) throw new SwarmError('SHUTDOWN', 'peer is shutting down');
    const transport = await dial(target.host, target.port);
    const connection = this.#options.attach(transport);
    this.#dialTargets.set(connection, target);
    return new Promise<RemoteInfo>((resolve, reject) => {
      connection.once('open', (remote) => {
        if (connection.state === 'closed') return; // refused on open (--allow): the close rejects
        target.peerId = remote.peerId;
        target.keep = true;
        target.backoff.reset();
        resolve(remote);
      });
      connection.once('close', (err) =>
        reject(
          err instanceof SwarmError && err.code !== 'TRANSPORT_CLOSED'
            ? err
            : new SwarmError('HANDSHAKE_FAILED', `${target.host}:${target.port} closed the connection during the handshake`, {
                cause: err,
              }),
        ),
      );
    });
  }

  /** After a connection closed: redials its target (with back-off) unless another link to that peer is open. */
  connectionClosed(connection: Connection): void {
    const target = this.targetOf(connection);
    const { isClosed, isLinked } = this.#options;
    if (target?.keep && !isClosed() && !(target.peerId && isLinked(target.peerId))) {
      this.#scheduleRedial(target, target.backoff.next());
    }
  }

  /** Cancels every pending redial (the Peer is closing). */
  stop(): void {
    for (const target of this.#targets.values()) if (target.timer !== null) this.#options.timers.clearTimeout(target.timer);
  }

  #scheduleRedial(target: DialTarget, delayMs: number): void {
    const { isClosed, isLinked, timers, log } = this.#options;
    if (target.timer !== null || isClosed()) return;
    target.timer = timers.setTimeout(() => {
      target.timer = null;
      if (isClosed() || (target.peerId && isLinked(target.peerId))) return;
      this.dialOnce(target).catch((err) => {
        log.debug({ target: `${target.host}:${target.port}`, reason: (err as Error).message }, 'redial failed');
        // A failed dial before any connection existed does not reach connectionClosed: schedule here.
        if (target.keep) this.#scheduleRedial(target, target.backoff.next());
      });
    }, delayMs);
  }
}
