/**
 * A discrete-event simulation that drives the Scheduler with virtual time and simulated peers.
 *
 * Each simulated peer serves requests one at a time, first come first served, at its own rate
 * (bytes per second of upload), and every message to or from it takes `latencyMs` one way.
 * Behaviours: honest, silent (accepts requests and never answers), corrupt (every chunk fails
 * verification), wrong-size; a partial peer starts with some chunks and announces more over time,
 * and, like the reference peer, never answers a request for a chunk it does not have (the harness
 * records that as a violation). Cancels reach the peer after its latency and drop the request if
 * it is still queued (unless the peer ignores cancels, like a standard peer).
 *
 * The driver loop plays the caller's part: onTimeouts, nextRequests, deliver chunks to onChunk
 * with the verdict the peer's behaviour implies, forward cancels, until state() is not 'running'
 * or the time limit passes. Everything is deterministic for a given seed.
 */
import { Scheduler } from '../../lib/transfer/scheduler.ts';
import type {
  ChunkRequest,
  ChunkVerdict,
  SchedulerState,
  SchedulerStats,
} from '../../lib/transfer/scheduler.ts';

export type SimBehaviour = 'honest' | 'silent' | 'corrupt' | 'wrong-size';

export interface SimPeerSpec {
  id: string;
  chunkSize: number;
  /** Upload rate, bytes per second. */
  rateBps: number;
  /** One-way latency; default 10 ms. */
  latencyMs?: number;
  behaviour?: SimBehaviour;
  /** Default true. A partial peer starts with `have` and announces `announce` as time passes. */
  hasAll?: boolean;
  have?: number[];
  announce?: { atMs: number; chunk: number }[];
  /** Default true; a standard peer has no cancel message. */
  honoursCancel?: boolean;
  joinAtMs?: number;
  leaveAtMs?: number;
}

export interface SimOptions {
  fileSize: number;
  pieceSize: number;
  peers: SimPeerSpec[];
  seed?: number;
  /** Pieces held before the start (resume). */
  have?: Iterable<number>;
  stallTimeoutMs?: number;
  /** Give up after this much virtual time; default 10 minutes. */
  maxTimeMs?: number;
}

export interface SimResult {
  state: SchedulerState;
  timeMs: number;
  stats: SchedulerStats;
  /** Every request the scheduler made, in order. */
  requests: ChunkRequest[];
  cancels: ChunkRequest[];
  timeouts: ChunkRequest[];
  bans: { peerId: string; reason: string; atMs: number }[];
  /** How many times each piece was reported in `accepted` (1 everywhere on a clean run). */
  acceptCount: Uint32Array;
  /** Chunks each peer actually put on the wire. */
  served: Map<string, number>;
  /** Requests made of a partial peer for chunks it had not announced (the scheduler must make none). */
  violations: string[];
  /** Time when the last piece arrived. */
  completedAtMs: number | undefined;
}

/** With nothing in flight and no deadline, the clock advances by this much (the stall clock keeps running). */
const IDLE_STEP_MS = 1_000;

interface SimPeer {
  spec: SimPeerSpec;
  latency: number;
  haveChunks: Set<number>;
  queue: number[];
  busy: boolean;
  gone: boolean;
}

export function runSimulation(options: SimOptions): SimResult {
  const random = mulberry32(options.seed ?? 1);
  const events = new EventQueue();
  const scheduler = new Scheduler({
    fileSize: options.fileSize,
    pieceSize: options.pieceSize,
    now: 0,
    random,
    ...(options.have ? { have: options.have } : {}),
    ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
  });
  const result: SimResult = {
    state: 'running',
    timeMs: 0,
    stats: scheduler.stats(),
    requests: [],
    cancels: [],
    timeouts: [],
    bans: [],
    acceptCount: new Uint32Array(scheduler.pieceCount),
    served: new Map(),
    violations: [],
    completedAtMs: undefined,
  };
  const peers = new Map<string, SimPeer>();
  const chunkBytes = (spec: SimPeerSpec, chunk: number) =>
    Math.min(spec.chunkSize, options.fileSize - chunk * spec.chunkSize);

  const startService = (peer: SimPeer) => {
    if (peer.busy || peer.gone) return;
    const chunk = peer.queue.shift();
    if (chunk === undefined) return;
    peer.busy = true;
    const duration = (chunkBytes(peer.spec, chunk) / peer.spec.rateBps) * 1000;
    events.at(events.now + duration, () => {
      peer.busy = false;
      result.served.set(peer.spec.id, (result.served.get(peer.spec.id) ?? 0) + 1);
      events.at(events.now + peer.latency, () => deliver(peer, chunk));
      startService(peer);
    });
  };

  const deliver = (peer: SimPeer, chunk: number) => {
    if (peer.gone) return;
    const behaviour = peer.spec.behaviour ?? 'honest';
    const verdict: ChunkVerdict =
      behaviour === 'corrupt' ? 'bad' : behaviour === 'wrong-size' ? 'wrong-size' : 'ok';
    const outcome = scheduler.onChunk(peer.spec.id, chunk, events.now, verdict);
    for (const piece of outcome.accepted) result.acceptCount[piece]!++;
    if (outcome.accepted.length > 0 && scheduler.state(events.now) === 'complete')
      result.completedAtMs = events.now;
    if (outcome.banned !== undefined) {
      result.bans.push({ peerId: peer.spec.id, reason: outcome.banned, atMs: events.now });
      peer.queue.length = 0; // the caller stops asking a banned peer
    }
    for (const cancel of outcome.cancel) {
      result.cancels.push(cancel);
      const target = peers.get(cancel.peerId);
      if (!target || target.spec.honoursCancel === false) continue;
      events.at(events.now + target.latency, () => {
        const index = target.queue.indexOf(cancel.chunkIndex);
        if (index >= 0) target.queue.splice(index, 1);
      });
    }
  };

  const send = (request: ChunkRequest) => {
    result.requests.push(request);
    const peer = peers.get(request.peerId)!;
    if (peer.spec.hasAll === false && !peer.haveChunks.has(request.chunkIndex)) {
      result.violations.push(`${peer.spec.id} asked for chunk ${request.chunkIndex} it had not announced`);
      return; // like the reference peer, it would never answer
    }
    events.at(events.now + peer.latency, () => {
      if (peer.gone || (peer.spec.behaviour ?? 'honest') === 'silent') return;
      peer.queue.push(request.chunkIndex);
      startService(peer);
    });
  };

  for (const spec of options.peers) {
    const peer: SimPeer = {
      spec,
      latency: spec.latencyMs ?? 10,
      haveChunks: new Set(spec.have ?? []),
      queue: [],
      busy: false,
      gone: false,
    };
    peers.set(spec.id, peer);
    events.at(spec.joinAtMs ?? 0, () => {
      const added = scheduler.addPeer(spec.id, { chunkSize: spec.chunkSize, hasAll: spec.hasAll !== false });
      if (!added.ok) throw new Error(`simulated peer ${spec.id} refused: ${added.reason}`);
      for (const chunk of peer.haveChunks) scheduler.peerHas(spec.id, chunk);
    });
    for (const { atMs, chunk } of spec.announce ?? []) {
      events.at(atMs, () => {
        peer.haveChunks.add(chunk);
        scheduler.peerHas(spec.id, chunk);
      });
    }
    if (spec.leaveAtMs !== undefined) {
      events.at(spec.leaveAtMs, () => {
        peer.gone = true;
        scheduler.removePeer(spec.id, events.now);
      });
    }
  }

  const maxTime = options.maxTimeMs ?? 600_000;
  events.runUntil(0);
  for (;;) {
    const now = events.now;
    result.timeouts.push(...scheduler.onTimeouts(now));
    for (const request of scheduler.nextRequests(now)) send(request);
    result.state = scheduler.state(now);
    if (result.state !== 'running') break;
    const deadline = scheduler.nextDeadline(now);
    let next = events.nextTime() ?? now + IDLE_STEP_MS;
    if (deadline !== undefined) next = Math.min(next, deadline);
    if (next > maxTime) break;
    events.runUntil(Math.max(now, next));
  }
  result.timeMs = events.now;
  result.stats = scheduler.stats();
  return result;
}

/** Events in time order (ties in insertion order), on a binary heap. */
class EventQueue {
  now = 0;
  #heap: { time: number; seq: number; run: () => void }[] = [];
  #seq = 0;

  at(time: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ time: Math.max(time, this.now), seq: this.#seq++, run });
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  nextTime(): number | undefined {
    return this.#heap[0]?.time;
  }

  /** Runs every event due by `time` (including ones they schedule) and sets the clock to `time`. */
  runUntil(time: number): void {
    while (this.#heap.length > 0 && this.#heap[0]!.time <= time) {
      const event = this.#pop();
      this.now = event.time;
      event.run();
    }
    this.now = Math.max(this.now, time);
  }

  #pop(): { time: number; seq: number; run: () => void } {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.#less(left, smallest)) smallest = left;
        if (right < heap.length && this.#less(right, smallest)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }

  #less(a: number, b: number): boolean {
    const x = this.#heap[a]!;
    const y = this.#heap[b]!;
    return x.time < y.time || (x.time === y.time && x.seq < y.seq);
  }
}

/** A small seeded PRNG (mulberry32) returning numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
