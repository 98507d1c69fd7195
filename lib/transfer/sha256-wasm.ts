/**
 * The SHA-256 compression function as a small WebAssembly module, generated here (no toolchain, no
 * dependency): the 64 rounds and the message schedule unrolled over i32 locals. The browser's
 * hashing worker spends most of its time in the whole-file hash, which WebCrypto cannot do
 * incrementally; this runs it about 1.8x as fast as the TypeScript rounds in sha256-incremental.ts
 * (404-414 against 223-229 MB/s under Node 20, 64 MiB in 64 KiB pieces).
 *
 * Memory layout: the 8 state words at byte 0 (native little-endian i32, as an Int32Array sees
 * them), message blocks from DATA_OFFSET. `compress(blocks)` hashes `blocks` 64-byte blocks.
 */

import { SHA256_ROUND_CONSTANTS } from './sha256-constants.ts';

/** Where message blocks start in the module's memory. */
export const WASM_DATA_OFFSET = 64;
/** Bytes of message the memory holds per call: 64 KiB, a piece. */
export const WASM_DATA_BYTES = 64 * 1024;
const PAGE_BYTES = 64 * 1024;

// Opcodes (WebAssembly core spec, binary format).
const I32 = 0x7f;
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  load: 0x28,
  store: 0x36,
  const: 0x41,
  eqz: 0x45,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  or: 0x72,
  xor: 0x73,
  shl: 0x74,
  shrU: 0x76,
  rotl: 0x77,
  rotr: 0x78,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (text: string): number[] => [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];

/** The body of `compress(blocks)`: locals, then code. */
function compressBody(): number[] {
  // Locals after the parameter (0 = blocks): 1 = ptr, 2..9 = working a..h, 10..17 = saved state,
  // 18..81 = w[0..63], 82 = t1.
  const PTR = 1,
    WORK = 2,
    SAVED = 10,
    W = 18,
    T1 = 82,
    LOCALS = 82;
  const code: number[] = [];
  const get = (...locals: number[]) => {
    for (const local of locals) code.push(op.localGet, ...uleb(local));
  };
  const set = (i: number) => code.push(op.localSet, ...uleb(i));
  const k = (v: number) => code.push(op.const, ...sleb(v));
  const emit = (...ops: number[]) => code.push(...ops);
  const rotr = (local: number, bits: number) => {
    get(local);
    k(bits);
    emit(op.rotr);
  };
  /** rotr(x,a) ^ rotr(x,b) ^ (rotr(x,c) or x >>> c) */
  const sigma = (x: number, a: number, b: number, c: number, shiftLast: boolean) => {
    rotr(x, a);
    rotr(x, b);
    emit(op.xor);
    get(x);
    k(c);
    emit(shiftLast ? op.shrU : op.rotr, op.xor);
  };

  // Load the state.
  for (let i = 0; i < 8; i++) {
    k(0);
    code.push(op.load, 2, ...uleb(i * 4));
    set(SAVED + i);
  }
  k(WASM_DATA_OFFSET);
  set(PTR);
  emit(op.block, 0x40, op.loop, 0x40);
  get(0);
  emit(op.eqz, op.brIf, 1);
  // w[0..15]: big-endian words; bswap(x) = (rotr(x, 8) & 0xff00ff00) | (rotl(x, 8) & 0x00ff00ff).
  for (let i = 0; i < 16; i++) {
    get(PTR);
    code.push(op.load, 0, ...uleb(i * 4));
    code.push(op.localTee, ...uleb(W + i));
    k(8);
    emit(op.rotr);
    k(0xff00ff00);
    emit(op.and);
    get(W + i);
    k(8);
    emit(op.rotl);
    k(0x00ff00ff);
    emit(op.and, op.or);
    set(W + i);
  }
  for (let i = 16; i < 64; i++) {
    get(W + i - 16);
    sigma(W + i - 15, 7, 18, 3, true);
    emit(op.add);
    get(W + i - 7);
    emit(op.add);
    sigma(W + i - 2, 17, 19, 10, true);
    emit(op.add);
    set(W + i);
  }
  for (let i = 0; i < 8; i++) {
    get(SAVED + i);
    set(WORK + i);
  }
  // Rounds, with the working variables renamed instead of moved: v[0] is a, ..., v[7] is h.
  let v = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => WORK + i);
  for (let i = 0; i < 64; i++) {
    const [a, b, c, d, e, f, g, h] = v as [number, number, number, number, number, number, number, number];
    // t1 = h + S1(e) + ch(e,f,g) + K[i] + w[i]; ch = g ^ (e & (f ^ g))
    get(h);
    sigma(e, 6, 11, 25, false);
    emit(op.add);
    get(g, e, f, g);
    emit(op.xor, op.and, op.xor, op.add);
    k(SHA256_ROUND_CONSTANTS[i]!);
    emit(op.add);
    get(W + i);
    emit(op.add);
    set(T1);
    // d += t1 (the next e); h = t1 + S0(a) + maj(a,b,c) (the next a); maj = (a & b) | (c & (a | b))
    get(d, T1);
    emit(op.add);
    set(d);
    get(T1);
    sigma(a, 2, 13, 22, false);
    emit(op.add);
    get(a, b);
    emit(op.and);
    get(c, a, b);
    emit(op.or, op.and, op.or, op.add);
    set(h);
    v = [h, a, b, c, d, e, f, g];
  }
  for (let i = 0; i < 8; i++) {
    get(SAVED + i, v[i]!);
    emit(op.add);
    set(SAVED + i);
  }
  get(PTR);
  k(64);
  emit(op.add);
  set(PTR);
  get(0);
  k(1);
  emit(op.sub);
  set(0);
  emit(op.brIf - 1, 0); // br 0: the next block
  emit(op.end, op.end);
  for (let i = 0; i < 8; i++) {
    k(0);
    get(SAVED + i);
    code.push(op.store, 2, ...uleb(i * 4));
  }
  emit(op.end);
  return [...vector([[...uleb(LOCALS), I32]]), ...code];
}

/** The module's bytes. */
export function sha256WasmModuleBytes(): Uint8Array<ArrayBuffer> {
  const pages = Math.ceil((WASM_DATA_OFFSET + WASM_DATA_BYTES) / PAGE_BYTES);
  const body = compressBody();
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector([[0x60, 1, I32, 0]])), // type 0: (i32) -> ()
    ...section(3, vector([[0]])), // function 0 has type 0
    ...section(5, vector([[0x00, ...uleb(pages)]])), // one memory
    ...section(
      7,
      vector([
        [...name('compress'), 0x00, 0],
        [...name('memory'), 0x02, 0],
      ]),
    ),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

export interface WasmCompressor {
  /** The state words, a view of the module's memory. */
  state: Int32Array;
  /** Where blocks go before `compress`, a view of the module's memory (WASM_DATA_BYTES). */
  data: Uint8Array;
  compress(blocks: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * A fresh compressor, or null where WebAssembly cannot be compiled synchronously here (a browser's
 * main thread refuses modules over 4 KB; workers and Node allow them). Compiled once per thread.
 */
export function makeWasmCompressor(): WasmCompressor | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(sha256WasmModuleBytes());
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  const instance = new WebAssembly.Instance(compiled);
  const { memory, compress } = instance.exports as {
    memory: WebAssembly.Memory;
    compress: (blocks: number) => void;
  };
  return {
    state: new Int32Array(memory.buffer, 0, 8),
    data: new Uint8Array(memory.buffer, WASM_DATA_OFFSET, WASM_DATA_BYTES),
    compress,
  };
}
