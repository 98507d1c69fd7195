import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../lib/peer/constants.ts';
import { isSwarmError } from '../../lib/peer/errors.ts';
import { encodeFrame, FrameReader, frameHeader } from '../../lib/peer/wire/frame-reader.ts';
import { concatBytes } from '../../lib/util/bytes.ts';

const bytes = (...values: number[]): Uint8Array => Uint8Array.of(...values);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const asText = (frames: Uint8Array[]): string[] => frames.map((f) => new TextDecoder().decode(f));

/** Pushes `stream` cut at `cuts` (sorted offsets) and returns every payload, in order. */
function readSplit(reader: FrameReader, stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    out.push(...reader.push(stream.subarray(from, cut)));
    from = cut;
  }
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('frameHeader / encodeFrame', () => {
  it('writes a 4-byte big-endian unsigned length', () => {
    expect([...frameHeader(0)]).toEqual([0, 0, 0, 0]);
    expect([...frameHeader(0x01020304)]).toEqual([1, 2, 3, 4]);
    expect([...frameHeader(0xffffffff)]).toEqual([255, 255, 255, 255]);
  });

  it('refuses lengths a 4-byte prefix cannot hold', () => {
    expect(() => frameHeader(-1)).toThrow(RangeError);
    expect(() => frameHeader(2 ** 32)).toThrow(RangeError);
    expect(() => frameHeader(1.5)).toThrow(RangeError);
  });

  it('puts the prefix before the payload', () => {
    expect([...encodeFrame(bytes(9, 8, 7))]).toEqual([0, 0, 0, 3, 9, 8, 7]);
    expect([...encodeFrame(new Uint8Array(0))]).toEqual([0, 0, 0, 0]);
  });
});

describe('FrameReader', () => {
  it('defaults its cap to MAX_FRAME_BYTES', () => {
    expect(new FrameReader().maxFrameBytes).toBe(MAX_FRAME_BYTES);
  });

  it('returns a whole frame pushed at once', () => {
    expect(asText(new FrameReader().push(encodeFrame(text('hello'))))).toEqual(['hello']);
  });

  it('reassembles frames pushed one byte at a time', () => {
    const reader = new FrameReader();
    const stream = concatBytes([
      encodeFrame(text('ab')),
      encodeFrame(new Uint8Array(0)),
      encodeFrame(text('cde')),
    ]);
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      const got = reader.push(stream.subarray(i, i + 1));
      out.push(...got);
      // A frame completes exactly on its last byte, never earlier.
      if (i === 5) expect(asText(got)).toEqual(['ab']);
    }
    expect(asText(out)).toEqual(['ab', '', 'cde']);
    expect(reader.atFrameBoundary).toBe(true);
  });

  it('returns several coalesced frames from one chunk, in order', () => {
    const stream = concatBytes(['one', 'two', '', 'three'].map((s) => encodeFrame(text(s))));
    expect(asText(new FrameReader().push(stream))).toEqual(['one', 'two', '', 'three']);
  });

  it('handles a prefix split across chunks and a payload spanning many', () => {
    const reader = new FrameReader();
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const stream = encodeFrame(payload);
    expect(reader.push(stream.subarray(0, 2))).toEqual([]);
    expect(reader.bufferedBytes).toBe(2);
    expect(reader.push(stream.subarray(2, 300))).toEqual([]);
    expect(reader.atFrameBoundary).toBe(false);
    expect(reader.push(stream.subarray(300, 700))).toEqual([]);
    const [got] = reader.push(stream.subarray(700));
    expect(got).toEqual(payload);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('returns a payload inside one chunk as a view of it (the documented aliasing)', () => {
    const chunk = encodeFrame(text('view'));
    const [got] = new FrameReader().push(chunk);
    expect(got!.buffer).toBe(chunk.buffer);
    expect(got!.byteOffset).toBe(4);
  });

  it('ignores empty pushes', () => {
    const reader = new FrameReader();
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    expect(reader.atFrameBoundary).toBe(true);
  });

  it('rejects a 4 GiB prefix as soon as its 4 bytes arrive', () => {
    const reader = new FrameReader();
    expect(reader.push(bytes(0xff, 0xff, 0xff))).toEqual([]);
    const err = thrown(() => reader.push(bytes(0xff)));
    expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toContain('4294967295');
    expect((err as Error).message).toContain(String(MAX_FRAME_BYTES));
    expect(reader.bufferedBytes).toBe(0);
  });

  it('accepts a frame of exactly the cap and rejects cap + 1', () => {
    const cap = 64;
    const atCap = new FrameReader({ maxFrameBytes: cap }).push(encodeFrame(new Uint8Array(cap)));
    expect(atCap.map((f) => f.length)).toEqual([cap]);
    const err = thrown(() => new FrameReader({ maxFrameBytes: cap }).push(frameHeader(cap + 1)));
    expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toContain(`${cap + 1} bytes`);
    expect((err as Error).message).toContain(`limit of ${cap} bytes`);
  });

  it('accepts a frame of exactly MAX_FRAME_BYTES by default and rejects one byte more', () => {
    const reader = new FrameReader();
    expect(reader.push(frameHeader(MAX_FRAME_BYTES))).toEqual([]);
    expect(reader.push(new Uint8Array(MAX_FRAME_BYTES)).map((f) => f.length)).toEqual([MAX_FRAME_BYTES]);
    expect(
      isSwarmError(
        thrown(() => new FrameReader().push(frameHeader(MAX_FRAME_BYTES + 1))),
        'FRAME_TOO_LARGE',
      ),
    ).toBe(true);
  });

  it('stays poisoned after a violation: later pushes throw the same error', () => {
    const reader = new FrameReader({ maxFrameBytes: 1 });
    const first = thrown(() => reader.push(concatBytes([encodeFrame(bytes(1)), frameHeader(2)])));
    expect(thrown(() => reader.push(encodeFrame(bytes(1))))).toBe(first);
  });

  it('refuses a cap a 4-byte prefix could not express', () => {
    expect(() => new FrameReader({ maxFrameBytes: 2 ** 32 })).toThrow(RangeError);
    expect(() => new FrameReader({ maxFrameBytes: -1 })).toThrow(RangeError);
  });

  it('yields the same payloads however the stream is split (property)', () => {
    const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (frames, rawCuts) => {
        const stream = concatBytes(frames.map(encodeFrame));
        const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
        const reader = new FrameReader({ maxFrameBytes: 300 });
        const got = readSplit(reader, stream, cuts);
        expect(got.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
        expect(reader.atFrameBoundary).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
