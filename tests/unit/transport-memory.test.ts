import { describe, expect, it } from 'vitest';
import { isSwarmError } from '../../lib/peer/errors.ts';
import { createMemoryTransportPair, MEMORY_HIGH_WATER_MARK_BYTES } from '../../lib/peer/transport-memory.ts';
import { runTransportContract } from './transport-contract.ts';

runTransportContract('memory', async () => createMemoryTransportPair(), {
  // Its inbox high-water mark, plus the one frame that may cross it.
  maxInFlightBytes: MEMORY_HIGH_WATER_MARK_BYTES + 1024 * 1024,
});

runTransportContract(
  'memory with a 1-byte high-water mark',
  async () => createMemoryTransportPair({ highWaterMark: 1 }),
  {
    maxInFlightBytes: 1024 * 1024 + 1,
  },
);

describe('memory transport', () => {
  it('reports kind memory and no remote address', () => {
    const [a] = createMemoryTransportPair();
    expect(a.kind).toBe('memory');
    expect(a.remoteAddress).toBeNull();
    expect(a.remotePort).toBeNull();
  });

  it('never delivers inside send, and copies so the buffer may change as soon as send returns', async () => {
    const [a, b] = createMemoryTransportPair();
    const got: Uint8Array[] = [];
    b.on('frame', (f) => got.push(f));
    const buffer = Uint8Array.of(1, 2, 3);
    const sent = a.send(buffer);
    expect(got).toEqual([]);
    buffer.fill(9);
    await sent;
    await new Promise((r) => setTimeout(r, 10));
    expect(got.map((f) => [...f])).toEqual([[1, 2, 3]]);
  });

  it('honours maxFrameBytes', async () => {
    const [a] = createMemoryTransportPair({ maxFrameBytes: 10 });
    expect(a.maxFrameBytes).toBe(10);
    await expect(a.send(new Uint8Array(10))).resolves.toBeUndefined();
    const err = await a.send(new Uint8Array(11)).catch((e: unknown) => e);
    expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
  });

  it('delivers frames sent before an orderly close, then closes the receiver', async () => {
    const [a, b] = createMemoryTransportPair();
    const events: string[] = [];
    b.on('frame', (f) => events.push(`frame ${f[0]}`));
    b.on('close', (err) => events.push(`close ${err}`));
    void a.send(Uint8Array.of(1));
    void a.send(Uint8Array.of(2));
    a.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['frame 1', 'frame 2', 'close undefined']);
  });

  it('holds send while the receiver has not drained past the high-water mark', async () => {
    const [a, b] = createMemoryTransportPair({ highWaterMark: 100 });
    let delivered = 0;
    b.on('frame', () => delivered++);
    let resolved = false;
    const first = a.send(new Uint8Array(100)); // exactly at the mark: accepted at once
    const second = a.send(new Uint8Array(1)).then(() => (resolved = true)); // over it: waits
    await first;
    expect(resolved).toBe(false);
    expect(delivered).toBe(0);
    await second;
    expect(delivered).toBe(2);
  });

  it('lets a frame listener reply and close without breaking delivery', async () => {
    const [a, b] = createMemoryTransportPair();
    const atA: number[] = [];
    a.on('frame', (f) => atA.push(f[0]!));
    b.on('frame', (f) => {
      void b.send(Uint8Array.of(f[0]! + 100));
      if (f[0] === 2) b.close();
    });
    for (const n of [1, 2, 3]) await a.send(Uint8Array.of(n)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(atA).toEqual([101, 102]);
    expect(a.closed).toBe(true);
  });
});
