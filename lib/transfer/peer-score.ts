/**
 * One peer's reputation within one transfer.
 *
 * The score is a running number for ordering and display: good chunks raise it (capped, so a long
 * honest history cannot buy forgiveness for many bad chunks), bad chunks and unanswered requests
 * lower it. The ban is decided by the *count* of bad chunks instead of the score, because a
 * timeout is not proof of bad faith (a slow link times out too) but a chunk that fails
 * verification is: after `BAN_AFTER_BAD_CHUNKS` of them the peer is banned for this transfer,
 * and the ban reason lists what it sent so the log can say why.
 */

/** Points for a chunk that verified. */
export const SCORE_GOOD_CHUNK = 1;
/** The score never rises above this: 20 good chunks of credit, i.e. two bad chunks' worth. */
export const SCORE_MAX = 20;
/** Points for a chunk that failed verification, had the wrong size, or was not the one asked for. */
export const SCORE_BAD_CHUNK = -10;
/** Points for a request that went unanswered past its deadline: mild, slow links time out too. */
export const SCORE_TIMEOUT = -2;
/** A peer is banned from the transfer at this many bad chunks: one is bad luck (a bit flip on a
 *  relay), three is a pattern. */
export const BAN_AFTER_BAD_CHUNKS = 3;

/** What was wrong with a chunk; each kind reads as a phrase in the ban reason. */
export type BadChunkKind = 'bad' | 'wrong-size' | 'wrong-index';

const KIND_TEXT: Record<BadChunkKind, string> = {
  bad: 'failed verification',
  'wrong-size': 'had the wrong size',
  'wrong-index': 'was not requested',
};

export class PeerScore {
  #value = 0;
  #goodChunks = 0;
  #badChunks = 0;
  #timeouts = 0;
  /** One phrase per bad chunk, oldest first, e.g. "chunk 7 failed verification". */
  readonly #offences: string[] = [];
  #banReason: string | undefined;
  readonly #banAfter: number;

  constructor(banAfterBadChunks = BAN_AFTER_BAD_CHUNKS) {
    if (!Number.isInteger(banAfterBadChunks) || banAfterBadChunks < 1) {
      throw new RangeError(`banAfterBadChunks must be a positive integer, got ${banAfterBadChunks}`);
    }
    this.#banAfter = banAfterBadChunks;
  }

  get value(): number {
    return this.#value;
  }
  get goodChunks(): number {
    return this.#goodChunks;
  }
  get badChunks(): number {
    return this.#badChunks;
  }
  get timeouts(): number {
    return this.#timeouts;
  }
  get banned(): boolean {
    return this.#banReason !== undefined;
  }
  /** Why the peer was banned, as a sentence for the log; undefined while it is not banned. */
  get banReason(): string | undefined {
    return this.#banReason;
  }

  recordGood(): void {
    this.#goodChunks++;
    this.#value = Math.min(SCORE_MAX, this.#value + SCORE_GOOD_CHUNK);
  }

  recordTimeout(): void {
    this.#timeouts++;
    this.#value += SCORE_TIMEOUT;
  }

  /**
   * Records a bad chunk. Returns the ban reason when this chunk is the one that gets the peer
   * banned, undefined otherwise (including when it was banned already: the ban is reported once).
   */
  recordBad(chunkIndex: number, kind: BadChunkKind): string | undefined {
    this.#badChunks++;
    this.#value += SCORE_BAD_CHUNK;
    this.#offences.push(`chunk ${chunkIndex} ${KIND_TEXT[kind]}`);
    if (this.banned || this.#badChunks < this.#banAfter) return undefined;
    this.#banReason = `banned after ${this.#badChunks} bad chunks: ${this.#offences.join('; ')}`;
    return this.#banReason;
  }

  /** Bans the peer for a reason found elsewhere (e.g. by the caller); a second ban keeps the first reason. */
  ban(reason: string): void {
    this.#banReason ??= reason;
  }
}
