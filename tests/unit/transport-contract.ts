/**
 * The Transport contract (lib/peer/transport.ts) as one suite that every transport runs:
 * `runTransportContract('memory', makePair)`. It only uses the Transport interface, so a new
 * transport gets the same checks by supplying a function that returns two connected ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isSwarmError } from '../../lib/peer/errors.ts';
import type { Transport } from '../../lib/peer/transport.ts';

export type TransportContractOptions = {
  /**
   * The most bytes that may be "accepted" (their `send` resolved) but not yet delivered to the
   * receiver: the transport's own buffering, i.e. its high-water mark plus whatever kernel or channel
   * buffers sit between the ends. The back-pressure tests send several times this much and fail if
   * sends run further ahead of delivery.
   */
  maxInFlightBytes?: number;
  /** Upper bound for each wait in the suite; generous, since nothing here measures speed. */
  waitTimeoutMs?: number;
};

const KIB = 1024;
const MIB = 1024 * KIB;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 16 * MIB;
const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
/** How long to keep listening after the expected frames arrived, to catch duplicates or extras. */
const SETTLE_MS = 50;

type Received = { frames: Uint8Array[]; bytes: number; closes: (Error | undefined)[] };

/** Records everything a transport emits. */
function record(t: Transport): Received {
  const r: Received = { frames: [], bytes: 0, closes: [] };
  t.on('frame', (frame) => {
    r.frames.push(frame);
    r.bytes += frame.length;
  });
  t.on('close', (err) => r.closes.push(err));
  return r;
}

/** A frame whose first 4 bytes carry `index` and whose rest is a pattern derived from it. */
function numberedFrame(index: number, size: number): Uint8Array {
  const frame = new Uint8Array(Math.max(size, 4));
  for (let i = 4; i < frame.length; i++) frame[i] = (index * 31 + i) & 0xff;
  new DataView(frame.buffer).setUint32(0, index);
  return frame;
}

function indexOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (Math.random() * 256) | 0;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export function runTransportContract(
  name: string,
  makePair: () => Promise<[Transport, Transport]>,
  options: TransportContractOptions = {},
): void {
  const maxInFlight = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
  const waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;

  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + waitTimeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  describe(`Transport contract: ${name}`, () => {
    const open: Transport[] = [];
    async function pair(): Promise<[Transport, Transport]> {
      const ends = await makePair();
      open.push(...ends);
      return ends;
    }
    afterEach(() => {
      for (const t of open.splice(0)) t.close();
    });

    it('starts open, with a positive maxFrameBytes', async () => {
      const [a, b] = await pair();
      expect(a.closed).toBe(false);
      expect(b.closed).toBe(false);
      expect(a.maxFrameBytes).toBeGreaterThan(0);
    });

    it('delivers many frames whole, in order, exactly once, both ways at once', async () => {
      const [a, b] = await pair();
      const atA = record(a);
      const atB = record(b);
      const count = 2_000;
      const sizeOf = (i: number): number => 4 + ((i * 7_919) % 3_000);
      const sendAll = async (from: Transport): Promise<void> => {
        for (let i = 0; i < count; i++) await from.send(numberedFrame(i, sizeOf(i)));
      };
      await Promise.all([sendAll(a), sendAll(b)]);
      await until(() => atA.frames.length >= count && atB.frames.length >= count, `${count} frames each way`);
      await sleep(SETTLE_MS);
      for (const got of [atA.frames, atB.frames]) {
        expect(got.length).toBe(count);
        got.forEach((frame, i) => {
          expect(indexOf(frame)).toBe(i);
          expect(sameBytes(frame, numberedFrame(i, sizeOf(i)))).toBe(true);
        });
      }
    });

    it('keeps the boundaries of 0-byte, 1-byte and 1 MiB frames', async () => {
      const [a, b] = await pair();
      const atB = record(b);
      const sizes = [0, 1, MIB, 0, 0, 1, MIB, 1, 0];
      const sent = sizes.map(randomBytes);
      for (const frame of sent) await a.send(frame);
      await until(() => atB.frames.length >= sent.length, `${sent.length} frames`);
      await sleep(SETTLE_MS);
      expect(atB.frames.map((f) => f.length)).toEqual(sizes);
      sent.forEach((frame, i) => expect(sameBytes(atB.frames[i]!, frame)).toBe(true));
    });

    it('lets the sender reuse its buffer once send has resolved', async () => {
      const [a, b] = await pair();
      const atB = record(b);
      const buffer = new Uint8Array(256 * KIB);
      const rounds = 8;
      for (let round = 0; round < rounds; round++) {
        buffer.fill(round);
        await a.send(buffer);
      }
      buffer.fill(0xee);
      await until(() => atB.frames.length >= rounds, `${rounds} frames`);
      atB.frames.forEach((frame, round) => {
        expect(frame.length).toBe(buffer.length);
        expect(frame.every((byte) => byte === round)).toBe(true);
      });
    });

    it('refuses to send a frame over maxFrameBytes, and stays open', async () => {
      const [a, b] = await pair();
      const atB = record(b);
      const err = await a.send(new Uint8Array(a.maxFrameBytes + 1)).catch((e: unknown) => e);
      expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
      expect(a.closed).toBe(false);
      await a.send(Uint8Array.of(7));
      await until(() => atB.frames.length === 1, 'the next frame');
      expect([...atB.frames[0]!]).toEqual([7]);
    });

    describe('back-pressure', () => {
      const frameBytes = 256 * KIB;
      // Enough that a transport whose send resolved without waiting would overshoot the bound.
      const totalBytes = Math.max(4 * maxInFlight, 8 * MIB);
      const frameCount = Math.ceil(totalBytes / frameBytes);

      /**
       * Records, each time a send resolves, how far resolved bytes run ahead of delivered bytes.
       * A transport that resolved sends without back-pressure would resolve them all (in microtasks)
       * before delivering anything, so the gap would reach the whole total.
       */
      function track(receiver: Received): { resolved: (bytes: number) => void; maxGap: () => number } {
        let resolvedBytes = 0;
        let maxGap = 0;
        return {
          resolved(bytes) {
            resolvedBytes += bytes;
            maxGap = Math.max(maxGap, resolvedBytes - receiver.bytes);
          },
          maxGap: () => maxGap,
        };
      }

      it(`a sender that awaits each send stays within ${maxInFlight} bytes of the receiver`, async () => {
        const [a, b] = await pair();
        const atB = record(b);
        const gap = track(atB);
        for (let i = 0; i < frameCount; i++) {
          await a.send(numberedFrame(i, frameBytes));
          gap.resolved(frameBytes);
        }
        await until(() => atB.frames.length >= frameCount, `${frameCount} frames`);
        expect(gap.maxGap()).toBeLessThanOrEqual(maxInFlight);
        expect(atB.frames.map(indexOf)).toEqual([...Array(frameCount).keys()]);
      });

      it('sends fired without awaiting resolve no further ahead, and none is dropped', async () => {
        const [a, b] = await pair();
        const atB = record(b);
        const gap = track(atB);
        const sends: Promise<void>[] = [];
        for (let i = 0; i < frameCount; i++) {
          sends.push(a.send(numberedFrame(i, frameBytes)).then(() => gap.resolved(frameBytes)));
        }
        await Promise.all(sends);
        await until(() => atB.frames.length >= frameCount, `${frameCount} frames`);
        expect(gap.maxGap()).toBeLessThanOrEqual(maxInFlight);
        expect(atB.frames.map(indexOf)).toEqual([...Array(frameCount).keys()]);
      });
    });

    describe('close', () => {
      it('rejects send after close with TRANSPORT_CLOSED, on both sides', async () => {
        const [a, b] = await pair();
        const atB = record(b);
        a.close();
        expect(a.closed).toBe(true);
        const fromA = await a.send(Uint8Array.of(1)).catch((e: unknown) => e);
        expect(isSwarmError(fromA, 'TRANSPORT_CLOSED')).toBe(true);
        await until(() => atB.closes.length === 1, "the remote's close");
        expect(b.closed).toBe(true);
        const fromB = await b.send(Uint8Array.of(1)).catch((e: unknown) => e);
        expect(isSwarmError(fromB, 'TRANSPORT_CLOSED')).toBe(true);
      });

      it("emits 'close' exactly once on both sides, with the closing side's error", async () => {
        const [a, b] = await pair();
        const atA = record(a);
        const atB = record(b);
        const reason = new Error('test closes this transport');
        a.close(reason);
        a.close();
        a.close(new Error('a second reason that must be ignored'));
        await until(() => atB.closes.length >= 1, "the remote's close");
        b.close();
        await sleep(SETTLE_MS);
        expect(atA.closes).toEqual([reason]);
        expect(atB.closes.length).toBe(1);
      });

      it("emits 'close' with undefined for an orderly close, whichever side closed", async () => {
        const [a, b] = await pair();
        const atA = record(a);
        const atB = record(b);
        b.close();
        await until(() => atA.closes.length >= 1, "the remote's close");
        await sleep(SETTLE_MS);
        expect(atB.closes).toEqual([undefined]);
        expect(atA.closes.length).toBe(1);
        expect(a.closed).toBe(true);
      });

      it('rejects sends still pending when the transport closes, and leaves none hanging', async () => {
        const [a, b] = await pair();
        const atB = record(b);
        const frame = new Uint8Array(MIB);
        // More than the transport can buffer, so the later sends must still be pending.
        const count = Math.ceil(maxInFlight / MIB) + 4;
        const sends = Array.from({ length: count }, () => a.send(frame));
        a.close();
        const results = await Promise.allSettled(sends);
        const rejected = results.filter((r) => r.status === 'rejected');
        expect(rejected.length).toBeGreaterThan(0);
        for (const r of rejected) expect(isSwarmError(r.reason, 'TRANSPORT_CLOSED')).toBe(true);
        // Whatever did resolve was accepted before the close; it came first, in order.
        expect(results.findIndex((r) => r.status === 'rejected')).toBe(count - rejected.length);
        await until(() => atB.closes.length === 1, "the remote's close");
      });
    });
  });
}
