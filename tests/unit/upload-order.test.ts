import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../lib/transfer/token-bucket.ts';
import { HOLD_RECENTLY_SENT_MS, UploadOrder, type QueuedChunk } from '../../lib/transfer/upload-order.ts';
import { ManualTimers } from '../support/manual-timers.ts';

const KiB = 1024;
const chunk = (chunkIndex: number, fileId = 'f'): QueuedChunk => ({ fileId, chunkIndex, chunkSize: 256 * KiB, bytes: 256 * KiB });
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** One connection's queue: `turn` takes the granted request out of it, as the chunk server does. */
function connection(order: UploadOrder, queued: QueuedChunk[], relays = true) {
  const peer = {};
  const granted: number[] = [];
  const next = async () => {
    const chosen = await order.turn(peer, relays, () => queued);
    if (chosen) {
      queued.splice(queued.indexOf(chosen), 1);
      granted.push(chosen.chunkIndex);
    }
    return chosen;
  };
  return { peer, queued, granted, next };
}

describe('UploadOrder', () => {
  it('without a cap grants each connection its oldest request at once', async () => {
    const order = new UploadOrder(new TokenBucket(0));
    const a = connection(order, [chunk(3), chunk(1)]);
    expect((await a.next())?.chunkIndex).toBe(3);
  });

  it('under a cap sends first what no connected peer got yet, then what went out longest ago', async () => {
    const timers = new ManualTimers();
    // 1 MiB/s, a burst of one chunk: one grant per 256 ms.
    const order = new UploadOrder(new TokenBucket(1024 * KiB, { burst: 256 * KiB, timers }), timers);
    const a = connection(order, [chunk(0)]);
    const b = connection(order, [chunk(0), chunk(1)]);
    await a.next(); // chunk 0 to A
    const bTurn = b.next();
    await settle();
    timers.advance(256);
    await settle();
    expect((await bTurn)?.chunkIndex).toBe(1); // B asked for 0 first, but 1 is new
    // Only chunk 0 is left for B, and A got it 256 ms ago: held back until HOLD_RECENTLY_SENT_MS after that.
    const late = b.next();
    let done = false;
    void late.then(() => (done = true));
    timers.advance(HOLD_RECENTLY_SENT_MS - 256 - 10);
    await settle();
    expect(done).toBe(false);
    timers.advance(HOLD_RECENTLY_SENT_MS);
    await settle();
    expect((await late)?.chunkIndex).toBe(0);
  });

  it('never holds back the requests of a peer that cannot fetch from neighbours (a standard peer)', async () => {
    const timers = new ManualTimers();
    const order = new UploadOrder(new TokenBucket(8 * 1024 * KiB, { burst: 4096 * KiB, timers }), timers);
    await connection(order, [chunk(0)]).next();
    expect((await connection(order, [chunk(0)], false).next())?.chunkIndex).toBe(0);
  });

  it('forgets what a peer got when it goes', async () => {
    const order = new UploadOrder(new TokenBucket(8 * 1024 * KiB, { burst: 4096 * KiB }));
    const a = connection(order, [chunk(0)]);
    await a.next();
    expect(order.standing(chunk(0)).times).toBe(1);
    order.forgetPeer(a.peer);
    expect(order.standing(chunk(0))).toEqual({ times: 0, heldUntil: 0 });
  });

  it('lets a connection go once everything it queued was cancelled', async () => {
    const timers = new ManualTimers();
    const order = new UploadOrder(new TokenBucket(1024 * KiB, { burst: 256 * KiB, timers }), timers);
    const a = connection(order, [chunk(0)]);
    await a.next(); // the burst is spent
    const b = connection(order, [chunk(1)]);
    const turn = b.next();
    b.queued.length = 0; // cancelled while waiting for tokens
    timers.advance(256);
    await settle();
    expect(await turn).toBeUndefined();
  });
});
