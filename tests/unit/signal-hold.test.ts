import { describe, expect, it } from 'vitest';
import { HoldQueue } from '../../lib/peer/signalling/hold.ts';
import type { HeldMessage } from '../../lib/peer/signalling/hold.ts';
import type { Timers } from '../../lib/util/timers.ts';

const HOLD_MS = 10_000;
const MAX_PER_SENDER = 3;

/** Virtual time: nothing fires until `advance` passes a timer's due time. */
function virtualClock() {
  let now = 0;
  const pending = new Set<{ at: number; fn: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const timer = { at: now + ms, fn };
      pending.add(timer);
      return timer;
    },
    clearTimeout: (handle) => void pending.delete(handle as { at: number; fn: () => void }),
    setInterval: () => {
      throw new Error('the hold queue sets no intervals');
    },
    clearInterval: () => {},
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const timer of [...pending].sort((a, b) => a.at - b.at)) {
      if (timer.at > now || !pending.has(timer)) continue;
      pending.delete(timer);
      timer.fn();
    }
  };
  return { timers, advance, pendingCount: () => pending.size };
}

type Sender = { name: string };

function makeQueue() {
  const clock = virtualClock();
  const expired: HeldMessage<Sender, string>[] = [];
  const queue = new HoldQueue<Sender, string>({
    holdMs: HOLD_MS,
    maxPerSender: MAX_PER_SENDER,
    timers: clock.timers,
    onExpire: (held) => expired.push(held),
  });
  return { queue, clock, expired };
}

describe('HoldQueue', () => {
  it('delivers what waited for a target when it arrives, oldest first, and only once', () => {
    const { queue, clock, expired } = makeQueue();
    const alice: Sender = { name: 'alice' };
    const bob: Sender = { name: 'bob' };
    expect(queue.hold(alice, 'carol', 'offer from alice', 'a1')).toBe(true);
    expect(queue.hold(bob, 'carol', 'offer from bob')).toBe(true);
    expect(queue.hold(alice, 'dave', 'offer for dave')).toBe(true);
    clock.advance(HOLD_MS - 1);

    expect(queue.release('carol')).toEqual(['offer from alice', 'offer from bob']);
    expect(queue.release('carol')).toEqual([]);
    expect(queue.heldBy(alice)).toBe(1);
    expect(queue.heldBy(bob)).toBe(0);
    // Delivered messages never expire; the one still waiting for dave does.
    clock.advance(HOLD_MS);
    expect(expired.map((held) => held.message)).toEqual(['offer for dave']);
    expect(clock.pendingCount()).toBe(0);
  });

  it('calls back with the sender, target and ref when the target does not arrive in time', () => {
    const { queue, clock, expired } = makeQueue();
    const alice: Sender = { name: 'alice' };
    queue.hold(alice, 'carol', 'offer', 'request-7');
    clock.advance(HOLD_MS - 1);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual([{ sender: alice, target: 'carol', message: 'offer', ref: 'request-7' }]);
    expect(queue.heldBy(alice)).toBe(0);
    expect(queue.release('carol')).toEqual([]);
  });

  it('caps what one sender may have waiting, across targets, without limiting other senders', () => {
    const { queue, clock } = makeQueue();
    const alice: Sender = { name: 'alice' };
    const bob: Sender = { name: 'bob' };
    for (let i = 0; i < MAX_PER_SENDER; i++) expect(queue.hold(alice, `peer-${i}`, `m${i}`)).toBe(true);
    expect(queue.hold(alice, 'peer-0', 'one too many')).toBe(false);
    expect(queue.heldBy(alice)).toBe(MAX_PER_SENDER);
    expect(queue.release('peer-0')).toEqual(['m0']);
    expect(queue.hold(bob, 'peer-1', 'from bob')).toBe(true);

    // Room again once one was delivered, and again once one expired.
    expect(queue.hold(alice, 'peer-9', 'after delivery')).toBe(true);
    expect(queue.hold(alice, 'peer-9', 'over again')).toBe(false);
    clock.advance(HOLD_MS);
    expect(queue.heldBy(alice)).toBe(0);
    expect(queue.hold(alice, 'peer-9', 'after expiry')).toBe(true);
  });

  it('drops what a sender held when it leaves: not delivered, no expiry, no timer left', () => {
    const { queue, clock, expired } = makeQueue();
    const alice: Sender = { name: 'alice' };
    const bob: Sender = { name: 'bob' };
    queue.hold(alice, 'carol', 'from alice to carol');
    queue.hold(bob, 'carol', 'from bob to carol');
    queue.hold(alice, 'dave', 'from alice to dave');

    queue.dropFrom(alice);
    queue.dropFrom(alice);
    expect(queue.heldBy(alice)).toBe(0);
    expect(clock.pendingCount()).toBe(1);
    expect(queue.release('dave')).toEqual([]);
    expect(queue.release('carol')).toEqual(['from bob to carol']);
    clock.advance(HOLD_MS);
    expect(expired).toEqual([]);
  });
});
