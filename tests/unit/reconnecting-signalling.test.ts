import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../../lib/peer/backoff.ts';
import { SignallingError } from '../../lib/peer/signalling/client.ts';
import type { SignallingClient } from '../../lib/peer/signalling/client.ts';
import { ReconnectingSignalling } from '../../lib/peer/signalling/reconnecting-client.ts';
import { Emitter } from '../../lib/util/emitter.ts';

/** A stand-in for SignallingClient below the socket: each connect() succeeds or fails as scripted. */
class FakeClient extends Emitter<{ close: (info: { code: number; reason: string }) => void }> {
  state: 'idle' | 'joined' | 'closed' = 'idle';
  constructor(private readonly joins: boolean) {
    super();
  }
  async connect(): Promise<{ peers: [] }> {
    if (!this.joins) {
      this.state = 'closed';
      throw new SignallingError('closed', 'signalling socket closed (1006 connection refused)');
    }
    this.state = 'joined';
    return { peers: [] };
  }
  async close(): Promise<void> {
    this.drop(1000, 'client closed');
  }
  /** The endpoint went away. */
  drop(code = 1006, reason = ''): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('close', { code, reason });
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function setup(script: boolean[]) {
  const made: FakeClient[] = [];
  const lost: number[] = [];
  const joined: number[] = [];
  const used: FakeClient[] = [];
  const endpoint = new ReconnectingSignalling({
    url: 'ws://127.0.0.1:1/signal',
    makeClient: () => {
      const client = new FakeClient(script[made.length] ?? true);
      made.push(client);
      return client as unknown as SignallingClient;
    },
    onJoined: async (client) => void used.push(client as unknown as FakeClient),
    // No jitter here (random 0.5): the delays are exactly 1 s, 2 s, 4 s ...
    backoff: new Backoff({ initialMs: 1_000, maxMs: 8_000, jitter: 0.3, random: () => 0.5 }),
  });
  endpoint.on('lost', (_reason, ms) => lost.push(ms));
  endpoint.on('joined', (_client, joins) => joined.push(joins));
  return { endpoint, made, lost, joined, used };
}

describe('ReconnectingSignalling', () => {
  it('retries a refused endpoint with growing back-off, and re-joins after a drop', async () => {
    const { endpoint, made, lost, joined, used } = setup([false, false, true]);
    expect(await endpoint.start()).toBe(false);
    expect(lost).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(999);
    expect(made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(made).toHaveLength(2);
    expect(lost).toEqual([1_000, 2_000]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(joined).toEqual([1]);
    expect(endpoint.state).toBe('joined');
    expect(used).toEqual([made[2]]);

    // The endpoint restarts: the joined client closes; the back-off starts again from its first step.
    made[2]!.drop();
    expect(endpoint.state).toBe('waiting');
    expect(lost.at(-1)).toBe(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(joined).toEqual([1, 2]);
    expect(used).toEqual([made[2], made[3]]);
    expect(endpoint.client).toBe(made[3]);
    await endpoint.close();
  });

  it('stops retrying once closed, and closes the joined client', async () => {
    const { endpoint, made } = setup([false]);
    await endpoint.start();
    await endpoint.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(made).toHaveLength(1);
    expect(endpoint.state).toBe('closed');

    const second = setup([true]);
    await second.endpoint.start();
    await second.endpoint.close();
    expect(second.made[0]!.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(second.made).toHaveLength(1);
  });
});

describe('Backoff', () => {
  it('doubles up to its cap, spreads each delay by the jitter, and resets', () => {
    const steady = new Backoff({ initialMs: 1_000, maxMs: 8_000, jitter: 0.3, random: () => 0.5 });
    expect([1, 2, 3, 4, 5].map(() => steady.next())).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    steady.reset();
    expect(steady.next()).toBe(1_000);
    expect(new Backoff({ initialMs: 1_000, jitter: 0.3, random: () => 0 }).next()).toBe(700);
    expect(new Backoff({ initialMs: 1_000, jitter: 0.3, random: () => 1 }).next()).toBe(1_300);
  });
});
