import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Shared pieces of the fuzz tests (tests/fuzz/): how many inputs to try, the mutations applied to
 * valid inputs, and a per-input hang bound.
 *
 * `npm test` runs each property with a small number of inputs (a few seconds in all); `npm run fuzz`
 * sets FUZZ_RUNS (inputs per property) to run long. FUZZ_SEED replays a reported failure.
 */
const DEFAULT_RUNS_PER_PROPERTY = 200;
// (npm run fuzz also lifts the per-test timeout: a long run of one property takes minutes.)

export function fuzzParams<T>(): fc.Parameters<T> {
  const runs = Number(process.env.FUZZ_RUNS ?? DEFAULT_RUNS_PER_PROPERTY);
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  return { numRuns: Number.isInteger(runs) && runs > 0 ? runs : DEFAULT_RUNS_PER_PROPERTY, ...(seed !== undefined && { seed }) };
}

/**
 * A decoder that takes longer than this on one input is taken to hang. It is a hang detector, not a
 * speed check: the largest fuzz input decodes in well under a millisecond, so 2 s leaves a loaded
 * 2-core machine three orders of magnitude of room.
 */
export const HANG_BOUND_MS = 2_000;

/** Runs `fn` on one input and fails if it took longer than HANG_BOUND_MS. */
export function withinHangBound<T>(fn: () => T): T {
  const started = performance.now();
  const result = fn();
  expect(performance.now() - started).toBeLessThan(HANG_BOUND_MS);
  return result;
}

export async function withinHangBoundAsync<T>(fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  expect(performance.now() - started).toBeLessThan(HANG_BOUND_MS);
  return result;
}

/** One change to a byte string: the kinds a broken or hostile sender produces. */
type ByteMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'overwrite-u32'; at: number; value: number };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant('overwrite-u32' as const),
    at: fc.nat(),
    // huge lengths, counts and indexes: the edges of a u32 and the edges of our caps
    value: fc.oneof(fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 10 * 1024 * 1024 + 1), fc.nat({ max: 0xffff_ffff })),
  }),
);

function applyByteMutation(input: Uint8Array, m: ByteMutation): Uint8Array {
  if (input.length === 0) return m.kind === 'insert' ? m.bytes.slice() : input;
  const at = m.at % input.length;
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return input.slice(0, at);
    case 'insert': {
      const out = new Uint8Array(input.length + m.bytes.length);
      out.set(input.subarray(0, at), 0);
      out.set(m.bytes, at);
      out.set(input.subarray(at), at + m.bytes.length);
      return out;
    }
    case 'overwrite-u32': {
      const out = input.slice();
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      if (at + 4 <= out.length) view.setUint32(at, m.value);
      return out;
    }
  }
}

/** `valid` (one of the given valid inputs) with 1-4 byte-level mutations. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
    .map(([input, mutations]) => mutations.reduce(applyByteMutation, input));
}

/** Values of the wrong type or at the edge of a range, for replacing a field of a valid object. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, '', -1, 0, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, 0.5, '../../etc/passwd', '\u0000', [], {}),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A copy of `obj` (a JSON object) with one field, at any depth, replaced by a hostile value or deleted. */
export function mutatedObject(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(valid, fc.nat(), fc.option(hostileValue, { nil: undefined, freq: 4 }))
    .map(([obj, pick, value]) => {
      const copy = structuredClone(obj);
      const slots = fieldSlots(copy);
      if (slots.length === 0) return copy;
      const [parent, key] = slots[pick % slots.length]!;
      if (value === undefined) delete parent[key];
      else parent[key] = value;
      return copy;
    });
}

function fieldSlots(obj: Record<string, unknown>): [Record<string, unknown>, string][] {
  const out: [Record<string, unknown>, string][] = [];
  for (const [key, value] of Object.entries(obj)) {
    out.push([obj, key]);
    if (typeof value === 'object' && value !== null) out.push(...fieldSlots(value as Record<string, unknown>));
  }
  return out;
}

export const utf8 = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
