import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { OutgoingQueue, PIPELINED_BYTES, type Priority } from '../../lib/peer/priority-queue.ts';
import { isSwarmError } from '../../lib/peer/errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const frame = (label: string) => encoder.encode(label);

/** A transport send that takes a macrotask per frame, like a socket under back-pressure, and records order. */
function slowSink() {
  const sent: string[] = [];
  const send = async (bytes: Uint8Array) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    sent.push(decoder.decode(bytes));
  };
  return { sent, send };
}

/** A send that waits until released, so tests can fill the queue while one frame is in flight. */
function gatedSink() {
  const sent: string[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const send = async (bytes: Uint8Array) => {
    await gate;
    sent.push(decoder.decode(bytes));
  };
  return {
    sent,
    send,
    open: () => release(),
    reclose: () => (gate = new Promise<void>((resolve) => (release = resolve))),
  };
}

describe('OutgoingQueue', () => {
  it('sends a chat frame enqueued after 1,000 bulk frames before the remaining bulk ones', async () => {
    const { sent, send } = slowSink();
    const queue = new OutgoingQueue(send);
    const bulk = Array.from({ length: 1000 }, (_, i) => queue.enqueue(frame(`bulk-${i}`), 'bulk'));
    await bulk[2]; // a few bulk frames are out; most are still waiting
    const bulkSentBeforeChat = sent.length;
    expect(queue.sizeByPriority.bulk).toBeGreaterThan(900);

    await queue.enqueue(frame('chat'), 'chat');
    await Promise.all(bulk);

    const chatAt = sent.indexOf('chat');
    // At most the one bulk frame that was already inside send() when chat arrived goes first.
    expect(chatAt).toBeLessThanOrEqual(bulkSentBeforeChat + 1);
    expect(sent.filter((s) => s.startsWith('bulk'))).toEqual(
      Array.from({ length: 1000 }, (_, i) => `bulk-${i}`),
    );
    expect(sent).toHaveLength(1001);
    expect(queue.size).toBe(0);
    expect(queue.bytesQueued).toBe(0);
  });

  it('takes control before chat before bulk, FIFO within each', async () => {
    const sink = gatedSink();
    const queue = new OutgoingQueue(sink.send);
    const done = [
      queue.enqueue(frame('b0'), 'bulk'), // goes straight into send and waits at the gate
      queue.enqueue(frame('b1'), 'bulk'),
      queue.enqueue(frame('c1'), 'chat'),
      queue.enqueue(frame('k1'), 'control'),
      queue.enqueue(frame('b2'), 'bulk'),
      queue.enqueue(frame('c2'), 'chat'),
      queue.enqueue(frame('k2'), 'control'),
    ];
    expect(queue.sizeByPriority).toEqual({ control: 2, chat: 2, bulk: 2 });
    expect(queue.size).toBe(6);
    expect(queue.bytesQueued).toBe(12);
    sink.open();
    await Promise.all(done);
    expect(sink.sent).toEqual(['b0', 'k1', 'k2', 'c1', 'c2', 'b1', 'b2']);
  });

  it('never loses or reorders frames within a priority (property)', async () => {
    const priorities: Priority[] = ['control', 'chat', 'bulk'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...priorities), fc.boolean()), { minLength: 1, maxLength: 60 }),
        async (plan) => {
          const sent: string[] = [];
          const queue = new OutgoingQueue(async (bytes) => {
            await Promise.resolve();
            sent.push(decoder.decode(bytes));
          });
          const pending: Promise<void>[] = [];
          for (const [i, [priority, pause]] of plan.entries()) {
            pending.push(queue.enqueue(frame(`${priority}:${i}`), priority));
            if (pause) await new Promise((resolve) => setTimeout(resolve, 0)); // let the pump drain some
          }
          await Promise.all(pending);
          expect(sent).toHaveLength(plan.length);
          for (const priority of priorities) {
            const expected = plan.flatMap(([p], i) => (p === priority ? [`${priority}:${i}`] : []));
            expect(sent.filter((s) => s.startsWith(`${priority}:`))).toEqual(expected);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hands small control and chat frames on while earlier ones are still in send, bulk one at a time', async () => {
    const sink = gatedSink();
    const calls: string[] = [];
    const queue = new OutgoingQueue((bytes) => {
      calls.push(decoder.decode(bytes));
      return sink.send(bytes);
    });
    const done = [
      queue.enqueue(frame('k1'), 'control'),
      queue.enqueue(frame('c1'), 'chat'),
      queue.enqueue(frame('b1'), 'bulk'),
      queue.enqueue(frame('b2'), 'bulk'),
    ];
    await new Promise((resolve) => setTimeout(resolve, 10));
    // k1 and c1 are still inside send (the gate is shut), yet b1 went after them; b2 waits for b1.
    expect(calls).toEqual(['k1', 'c1', 'b1']);
    const late = queue.enqueue(frame('c2'), 'chat');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['k1', 'c1', 'b1']); // behind the bulk frame in send, as before
    sink.open();
    await Promise.all([...done, late]);
    expect(calls).toEqual(['k1', 'c1', 'b1', 'c2', 'b2']);
    expect(sink.sent).toEqual(calls);
  });

  it(`awaits a control frame once ${PIPELINED_BYTES} bytes of them are unsettled in send`, async () => {
    const sink = gatedSink();
    const calls: number[] = [];
    const queue = new OutgoingQueue((bytes) => {
      calls.push(bytes.byteLength);
      return sink.send(bytes);
    });
    const half = PIPELINED_BYTES / 2;
    const done = [half, half, 10, 10].map((n) => queue.enqueue(new Uint8Array(n), 'control'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual([half, half, 10]); // the third did not fit: it is awaited, the fourth waits
    sink.open();
    await Promise.all(done);
    expect(calls).toEqual([half, half, 10, 10]);
  });

  it('resolves enqueue only once send has accepted the frame', async () => {
    const sink = gatedSink();
    const queue = new OutgoingQueue(sink.send);
    let resolved = false;
    const done = queue.enqueue(frame('x'), 'chat').then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(resolved).toBe(false);
    sink.open();
    await done;
    expect(resolved).toBe(true);
    expect(sink.sent).toEqual(['x']);
  });

  it('close rejects waiting frames and later enqueues, lets the in-flight one finish, and is safe twice', async () => {
    const sink = gatedSink();
    const queue = new OutgoingQueue(sink.send);
    const inFlight = queue.enqueue(frame('first'), 'bulk');
    const waiting = [queue.enqueue(frame('second'), 'bulk'), queue.enqueue(frame('third'), 'control')];
    const reason = new Error('peer went away');
    queue.close(reason);
    queue.close(new Error('second close is ignored'));
    expect(queue.closed).toBe(true);
    expect(queue.size).toBe(0);
    expect(queue.bytesQueued).toBe(0);
    for (const p of waiting) await expect(p).rejects.toBe(reason);
    await expect(queue.enqueue(frame('late'), 'control')).rejects.toBe(reason);

    sink.open();
    await expect(inFlight).resolves.toBeUndefined();
    expect(sink.sent).toEqual(['first']);
  });

  it('closes with a TRANSPORT_CLOSED SwarmError by default', async () => {
    const queue = new OutgoingQueue(async () => {});
    queue.close();
    await expect(queue.enqueue(frame('x'), 'chat')).rejects.toSatisfy((err) =>
      isSwarmError(err, 'TRANSPORT_CLOSED'),
    );
  });

  it('a failed send rejects that frame and closes the queue with the same error', async () => {
    const failure = new Error('socket write failed');
    const sent: string[] = [];
    const queue = new OutgoingQueue(async (bytes) => {
      const label = decoder.decode(bytes);
      if (label === 'bad') throw failure;
      sent.push(label);
    });
    const results = await Promise.allSettled([
      queue.enqueue(frame('ok'), 'bulk'),
      queue.enqueue(frame('bad'), 'bulk'),
      queue.enqueue(frame('after'), 'bulk'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBe(failure);
    expect((results[2] as PromiseRejectedResult).reason).toBe(failure);
    expect(sent).toEqual(['ok']);
    expect(queue.closed).toBe(true);
  });

  it('does not raise unhandled rejections for fire-and-forget frames dropped by close', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sink = gatedSink();
      const queue = new OutgoingQueue(sink.send);
      for (let i = 0; i < 10; i++) void queue.enqueue(frame(`f${i}`), 'bulk');
      queue.close(new Error('closed'));
      sink.open();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
