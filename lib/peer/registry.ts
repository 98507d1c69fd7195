/**
 * Everything this peer knows about other peers: where to reach them, what they are, whether they
 * are up, and how much we exchanged. The UI renders it (through `change` events) and a store
 * persists its durable part across restarts.
 *
 * Byte counters and last-seen move on every frame; emitting each of those would flood the UI, so
 * such changes are emitted at most once per COUNTER_EMIT_INTERVAL_MS per peer, with a trailing
 * emit so the final values always reach listeners.
 */
import { Emitter } from '../util/emitter.ts';
import { realTimers, type TimerHandle, type Timers } from '../util/timers.ts';

export type PeerKind = 'node' | 'browser' | 'standard' | 'unknown';
export type PeerStatus = 'online' | 'offline' | 'unknown';
export type PeerTransportKind = 'tcp' | 'webrtc' | 'relay';

export interface PeerRecord {
  peerId: string;
  address: string | null;
  port: number | null;
  /** As received in the handshake (PEM), or null if the peer sent none. */
  publicKey: string | null;
  name: string | null;
  kind: PeerKind;
  status: PeerStatus;
  /** ms since the epoch of the last frame received from the peer. */
  lastSeen: number | null;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
  transport: PeerTransportKind | null;
  /** The peer id of the relay we reach this peer through, when transport is 'relay'. */
  via: string | null;
  encrypted: boolean;
  /** We may redial address:port (it is a listening address, not a client's ephemeral port). */
  dialable: boolean;
}

export type PeerPatch = Partial<Omit<PeerRecord, 'peerId'>>;

/**
 * What survives a restart: who the peer is and how to reach it, plus lifetime byte totals.
 * Not status, rtt, transport, via or encrypted: those describe a connection, and after a restart
 * there is none.
 */
export const DURABLE_FIELDS = [
  'peerId',
  'address',
  'port',
  'publicKey',
  'name',
  'kind',
  'lastSeen',
  'bytesIn',
  'bytesOut',
  'dialable',
] as const satisfies readonly (keyof PeerRecord)[];

export type PersistedPeerRecord = Pick<PeerRecord, (typeof DURABLE_FIELDS)[number]>;

/** About the refresh rate at which a person reads a counter; also bounds UI work per peer. */
export const COUNTER_EMIT_INTERVAL_MS = 1_000;

export interface PeerRegistryOptions {
  timers?: Timers;
  counterEmitIntervalMs?: number;
}

function defaultRecord(peerId: string): PeerRecord {
  return {
    peerId,
    address: null,
    port: null,
    publicKey: null,
    name: null,
    kind: 'unknown',
    status: 'unknown',
    lastSeen: null,
    rttMs: null,
    bytesIn: 0,
    bytesOut: 0,
    transport: null,
    via: null,
    encrypted: false,
    dialable: false,
  };
}

interface Throttle {
  lastEmitAt: number;
  trailing: TimerHandle | undefined;
}

export class PeerRegistry extends Emitter<{ change: (peer: PeerRecord) => void }> {
  readonly #peers = new Map<string, PeerRecord>();
  readonly #throttles = new Map<string, Throttle>();
  readonly #timers: Timers;
  readonly #counterEmitIntervalMs: number;

  constructor(options: PeerRegistryOptions = {}) {
    super();
    this.#timers = options.timers ?? realTimers;
    this.#counterEmitIntervalMs = options.counterEmitIntervalMs ?? COUNTER_EMIT_INTERVAL_MS;
  }

  /** Creates the peer if unknown, applies the defined fields of `patch`, emits `change` if anything changed. */
  upsert(peerId: string, patch: PeerPatch = {}): PeerRecord {
    const existing = this.#peers.get(peerId);
    const record = existing ?? defaultRecord(peerId);
    let changed = !existing;
    for (const [key, value] of Object.entries(patch) as [keyof PeerPatch, unknown][]) {
      // peerId is the key, never a patchable field (a caller spreading a whole record must not rename it).
      if (value === undefined || (key as string) === 'peerId' || record[key] === value) continue;
      (record as unknown as Record<string, unknown>)[key] = value;
      changed = true;
    }
    if (!existing) this.#peers.set(peerId, record);
    if (changed) this.#emitNow(record);
    return { ...record };
  }

  get(peerId: string): PeerRecord | undefined {
    const record = this.#peers.get(peerId);
    return record && { ...record };
  }

  has(peerId: string): boolean {
    return this.#peers.has(peerId);
  }

  list(): PeerRecord[] {
    return [...this.#peers.values()].map((record) => ({ ...record }));
  }

  get size(): number {
    return this.#peers.size;
  }

  /** Records that a frame arrived from the peer at `now` (ms epoch). Throttled like the byte counters. */
  markSeen(peerId: string, now: number): void {
    const record = this.#recordFor(peerId);
    if (record.lastSeen !== null && record.lastSeen >= now) return;
    record.lastSeen = now;
    this.#emitThrottled(record);
  }

  addBytes(peerId: string, inBytes: number, outBytes: number): void {
    if (inBytes === 0 && outBytes === 0) return;
    const record = this.#recordFor(peerId);
    record.bytesIn += inBytes;
    record.bytesOut += outBytes;
    this.#emitThrottled(record);
  }

  setRtt(peerId: string, rttMs: number | null): void {
    this.upsert(peerId, { rttMs });
  }

  /** Going offline also forgets the connection's details (rtt, transport, via, encryption). */
  setStatus(peerId: string, status: PeerStatus): void {
    if (status === 'online') {
      this.upsert(peerId, { status });
    } else {
      this.upsert(peerId, { status, rttMs: null, transport: null, via: null, encrypted: false });
    }
  }

  toJSON(): PersistedPeerRecord[] {
    return [...this.#peers.values()].map((record) => {
      const durable: Partial<PersistedPeerRecord> = {};
      for (const field of DURABLE_FIELDS) (durable as Record<string, unknown>)[field] = record[field];
      return durable as PersistedPeerRecord;
    });
  }

  /**
   * Restores persisted records (the peers start with status 'unknown'). Entries that are not
   * records are skipped, and fields of the wrong type fall back to their defaults, so a
   * hand-edited or older file cannot poison the registry. Returns how many were loaded.
   */
  load(records: readonly unknown[]): number {
    let loaded = 0;
    for (const raw of Array.isArray(records) ? records : []) {
      if (typeof raw !== 'object' || raw === null) continue;
      const input = raw as Record<string, unknown>;
      if (typeof input.peerId !== 'string' || input.peerId === '') continue;
      this.upsert(input.peerId, sanitizeDurable(input));
      loaded++;
    }
    return loaded;
  }

  /** Cancels pending trailing emits and drops listeners. Safe to call twice. */
  destroy(): void {
    for (const throttle of this.#throttles.values()) this.#timers.clearTimeout(throttle.trailing);
    this.#throttles.clear();
    this.removeAllListeners();
  }

  /** The live record, created if unknown; the caller emits (once) for creation and its change together. */
  #recordFor(peerId: string): PeerRecord {
    let record = this.#peers.get(peerId);
    if (!record) this.#peers.set(peerId, (record = defaultRecord(peerId)));
    return record;
  }

  #emitNow(record: PeerRecord): void {
    const throttle = this.#throttles.get(record.peerId);
    if (throttle) {
      // This emit carries the latest counters too, so a pending trailing emit is redundant.
      this.#timers.clearTimeout(throttle.trailing);
      throttle.trailing = undefined;
      throttle.lastEmitAt = this.#timers.now();
    }
    this.emit('change', { ...record });
  }

  #emitThrottled(record: PeerRecord): void {
    const now = this.#timers.now();
    const throttle = this.#throttles.get(record.peerId) ?? { lastEmitAt: -Infinity, trailing: undefined };
    this.#throttles.set(record.peerId, throttle);
    if (throttle.trailing !== undefined) return; // already due to report the latest values
    const wait = throttle.lastEmitAt + this.#counterEmitIntervalMs - now;
    if (wait <= 0) {
      this.#emitNow(record);
      return;
    }
    throttle.trailing = this.#timers.setTimeout(() => {
      throttle.trailing = undefined;
      const current = this.#peers.get(record.peerId);
      if (current) this.#emitNow(current);
    }, wait);
  }
}

function sanitizeDurable(input: Record<string, unknown>): PeerPatch {
  const stringOrNull = (v: unknown) => (typeof v === 'string' ? v : null);
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const kinds: readonly PeerKind[] = ['node', 'browser', 'standard', 'unknown'];
  return {
    address: stringOrNull(input.address),
    port: Number.isInteger(input.port) ? (input.port as number) : null,
    publicKey: stringOrNull(input.publicKey),
    name: stringOrNull(input.name),
    kind: kinds.includes(input.kind as PeerKind) ? (input.kind as PeerKind) : 'unknown',
    lastSeen: typeof input.lastSeen === 'number' && Number.isFinite(input.lastSeen) ? input.lastSeen : null,
    bytesIn: count(input.bytesIn),
    bytesOut: count(input.bytesOut),
    dialable: input.dialable === true,
  };
}
