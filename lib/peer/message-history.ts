/**
 * Chat history: the messages this peer sent and received, newest first for the UI, persisted
 * through an append-only log so a crash loses at most the record being written.
 *
 * Log grammar (one JSON record per append):
 *   entry     = { direction, payload, at, status }   an add
 *   delivered = { delivered: "<message_id>" }        a later delivery of an outgoing message
 * Loading replays the log in order, so a delivery marks the entry appended before it.
 */
import type { Authenticity } from './message-signature.ts';
import { Emitter } from '../util/emitter.ts';
import type { AppendLog } from '../util/record-store.ts';

export type MessageDirection = 'incoming' | 'outgoing';
export type MessageStatus = 'sent' | 'delivered' | 'received';

/** The envelope as sent or received; history needs only its id. */
export interface MessagePayload {
  message_id: string;
}

export interface HistoryEntry<P extends MessagePayload = MessagePayload> {
  direction: MessageDirection;
  payload: P;
  /** ms since the epoch, by our clock, when we sent or received it. */
  at: number;
  status: MessageStatus;
  /** Incoming only: how its author is vouched for (message-signature.ts); absent on older entries. */
  authenticity?: Authenticity;
}

export interface DeliveredRecord {
  delivered: string;
}

export type HistoryRecord<P extends MessagePayload = MessagePayload> = HistoryEntry<P> | DeliveredRecord;

/** Enough scroll-back for a chat UI while bounding memory (a few MB of typical envelopes). */
export const DEFAULT_MAX_HISTORY_ENTRIES = 10_000;

export interface MessageHistoryOptions<P extends MessagePayload> {
  log?: AppendLog<HistoryRecord<P>>;
  maxEntries?: number;
  /** Told about every failed write to the log (the promise from add/markDelivered rejects too). */
  onPersistError?: (err: unknown) => void;
}

type HistoryEvents<P extends MessagePayload> = {
  added: (entry: HistoryEntry<P>) => void;
  delivered: (messageId: string) => void;
};

export class MessageHistory<P extends MessagePayload = MessagePayload> extends Emitter<HistoryEvents<P>> {
  readonly #log: AppendLog<HistoryRecord<P>> | undefined;
  readonly #maxEntries: number;
  readonly #onPersistError: (err: unknown) => void;
  /** Oldest first; entries before #start have been evicted (compacted away in batches). */
  #entries: HistoryEntry<P>[] = [];
  #start = 0;
  /** message_id -> the newest in-memory entry with that id, for markDelivered. */
  readonly #byId = new Map<string, HistoryEntry<P>>();
  #loaded = false;

  constructor(options: MessageHistoryOptions<P> = {}) {
    super();
    this.#log = options.log;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_HISTORY_ENTRIES;
    this.#onPersistError = options.onPersistError ?? (() => {});
    if (!(this.#maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  }

  /**
   * Replays the log into memory. Call once, before adding anything; records that are not a
   * valid entry or delivery are skipped. Returns the number of entries replayed.
   */
  async load(): Promise<number> {
    if (this.#loaded) throw new Error('MessageHistory.load() called twice');
    this.#loaded = true;
    if (!this.#log) return 0;
    let replayed = 0;
    for (const record of await this.#log.readAll()) {
      if (isDeliveredRecord(record)) {
        this.#applyDelivered(record.delivered);
      } else if (isHistoryEntry(record)) {
        this.#remember({ ...record });
        replayed++;
      }
    }
    return replayed;
  }

  /** Records a message; resolves once it is in the log. */
  add(entry: HistoryEntry<P>): Promise<void> {
    const stored = { ...entry };
    this.#remember(stored);
    this.emit('added', { ...stored });
    return this.#persist(stored);
  }

  /**
   * Marks an outgoing message as delivered (its ack arrived). Resolves to false, writing nothing,
   * if no such message is in memory or it is not waiting for delivery.
   */
  async markDelivered(messageId: string): Promise<boolean> {
    if (!this.#applyDelivered(messageId)) return false;
    this.emit('delivered', messageId);
    await this.#persist({ delivered: messageId });
    return true;
  }

  /** Up to `limit` entries, newest first. */
  list(limit: number): HistoryEntry<P>[] {
    const count = Math.max(0, Math.min(Math.floor(limit), this.size));
    const out: HistoryEntry<P>[] = [];
    for (let i = this.#entries.length - 1; out.length < count; i--) out.push({ ...this.#entries[i]! });
    return out;
  }

  get(messageId: string): HistoryEntry<P> | undefined {
    const entry = this.#byId.get(messageId);
    return entry && { ...entry };
  }

  get size(): number {
    return this.#entries.length - this.#start;
  }

  #remember(entry: HistoryEntry<P>): void {
    this.#entries.push(entry);
    this.#byId.set(entry.payload.message_id, entry);
    if (this.size > this.#maxEntries) this.#evictOldest();
  }

  #evictOldest(): void {
    const oldest = this.#entries[this.#start]!;
    this.#entries[this.#start++] = undefined as unknown as HistoryEntry<P>; // release it now
    const id = oldest.payload.message_id;
    if (this.#byId.get(id) === oldest) this.#byId.delete(id);
    // Compact in batches so eviction stays O(1) amortised even while replaying a long log.
    if (this.#start >= this.#maxEntries) {
      this.#entries = this.#entries.slice(this.#start);
      this.#start = 0;
    }
  }

  #applyDelivered(messageId: string): boolean {
    const entry = this.#byId.get(messageId);
    if (!entry || entry.direction !== 'outgoing' || entry.status !== 'sent') return false;
    entry.status = 'delivered';
    return true;
  }

  #persist(record: HistoryRecord<P>): Promise<void> {
    if (!this.#log) return Promise.resolve();
    const written = this.#log.append(record);
    // Reported to onPersistError, so a caller that does not await cannot cause an unhandled rejection.
    written.catch(this.#onPersistError);
    return written;
  }
}

function isDeliveredRecord(record: unknown): record is DeliveredRecord {
  return (
    typeof record === 'object' && record !== null && typeof (record as DeliveredRecord).delivered === 'string'
  );
}

const DIRECTIONS: readonly unknown[] = ['incoming', 'outgoing'] satisfies MessageDirection[];
const STATUSES: readonly unknown[] = ['sent', 'delivered', 'received'] satisfies MessageStatus[];

function isHistoryEntry<P extends MessagePayload>(record: unknown): record is HistoryEntry<P> {
  if (typeof record !== 'object' || record === null) return false;
  const entry = record as Partial<HistoryEntry<P>>;
  return (
    DIRECTIONS.includes(entry.direction) &&
    STATUSES.includes(entry.status) &&
    typeof entry.at === 'number' &&
    typeof entry.payload === 'object' &&
    entry.payload !== null &&
    typeof entry.payload.message_id === 'string'
  );
}
