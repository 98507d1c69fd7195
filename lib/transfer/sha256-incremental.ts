/**
 * SHA-256 (FIPS 180-4) in plain TypeScript, incremental: feed bytes with `update`, get the digest once.
 *
 * Why it exists: WebCrypto only hashes a whole buffer at once, so a browser cannot hash a multi-GiB
 * file without holding it in memory. This is the streaming fallback, and it also hashes the tiny
 * 65-byte Merkle parent nodes, where a WebCrypto round trip per node would cost more than the hash.
 * Node uses node:crypto instead (see hasher.node.ts). Runs of WASM_MIN_BLOCKS blocks or more go to
 * the WebAssembly rounds of sha256-wasm.ts where a module compiles (workers, Node), ~1.8x as fast.
 */
import { SHA256_ROUND_CONSTANTS } from './sha256-constants.ts';
import { makeWasmCompressor, WASM_DATA_BYTES } from './sha256-wasm.ts';
import type { WasmCompressor } from './sha256-wasm.ts';

/** Bytes per SHA-256 message block. */
const BLOCK_BYTES = 64;
/** Bytes in a SHA-256 digest. */
export const SHA256_BYTES = 32;

/** The round constants as int32 (see below). */
const K = new Int32Array(SHA256_ROUND_CONSTANTS);

/** Initial hash value: first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/**
 * Runs shorter than this stay in TypeScript: copying the state in and out of the module costs more
 * than it saves on a Merkle parent's two blocks.
 */
const WASM_MIN_BLOCKS = 16;
/** This thread's WebAssembly rounds, shared by every Sha256 (each call loads and stores its state); null where none compile. */
let wasm: WasmCompressor | null | undefined;

export class Sha256 {
  // Int32Array, not Uint32Array, throughout: V8 keeps int32 values as small integers, while
  // uint32 values above 2^31 become heap doubles, which made this several times slower.
  private readonly state = new Int32Array(H0);
  /** Message schedule, reused across blocks to avoid allocating per block. */
  private readonly w = new Int32Array(64);
  /** Bytes of an incomplete block carried between `update` calls. */
  private readonly tail = new Uint8Array(BLOCK_BYTES);
  private tailLength = 0;
  /** Total message length in bytes; a double is exact up to 2^53, far beyond any file we hash. */
  private totalBytes = 0;
  private finished = false;

  update(data: Uint8Array): this {
    if (this.finished) throw new Error('Sha256.update after digest');
    this.totalBytes += data.length;
    let offset = 0;
    if (this.tailLength > 0) {
      const take = Math.min(BLOCK_BYTES - this.tailLength, data.length);
      this.tail.set(data.subarray(0, take), this.tailLength);
      this.tailLength += take;
      offset = take;
      if (this.tailLength < BLOCK_BYTES) return this;
      this.compress(new DataView(this.tail.buffer), 0, 1);
      this.tailLength = 0;
    }
    const blocks = Math.floor((data.length - offset) / BLOCK_BYTES);
    if (blocks > 0)
      this.compress(new DataView(data.buffer, data.byteOffset, data.byteLength), offset, blocks);
    offset += blocks * BLOCK_BYTES;
    if (offset < data.length) {
      this.tail.set(data.subarray(offset), 0);
      this.tailLength = data.length - offset;
    }
    return this;
  }

  /** Pads, finishes and returns the 32-byte digest. The instance cannot be used afterwards. */
  digest(): Uint8Array {
    if (this.finished) throw new Error('Sha256.digest called twice');
    const bitLength = this.totalBytes * 8;
    // Padding: 0x80, zeros, then the 64-bit big-endian bit length, ending on a block boundary.
    const padLength = (this.tailLength < 56 ? 56 : 120) - this.tailLength + 8;
    const pad = new Uint8Array(padLength);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(padLength - 8, Math.floor(bitLength / 0x1_0000_0000));
    view.setUint32(padLength - 4, bitLength >>> 0);
    this.update(pad);
    this.finished = true;
    const out = new Uint8Array(SHA256_BYTES);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(i * 4, this.state[i]!);
    return out;
  }

  /**
   * The compression function over `count` 64-byte blocks from `view[offset..]`. The state stays in
   * locals across blocks and words are read big-endian through the DataView: measured under Node 20,
   * 64 MiB in 64 KiB updates, 171-207 (mostly 193-207) MB/s against 175-184 one block per call with byte loads.
   */
  private compress(view: DataView, offset: number, count: number): void {
    if (count >= WASM_MIN_BLOCKS) {
      if (wasm === undefined) wasm = makeWasmCompressor();
      if (wasm)
        return this.compressWasm(
          wasm,
          new Uint8Array(view.buffer, view.byteOffset + offset, count * BLOCK_BYTES),
        );
    }
    const w = this.w;
    const s = this.state;
    let h0 = s[0]!,
      h1 = s[1]!,
      h2 = s[2]!,
      h3 = s[3]!,
      h4 = s[4]!,
      h5 = s[5]!,
      h6 = s[6]!,
      h7 = s[7]!;
    for (let block = 0; block < count; block++, offset += BLOCK_BYTES) {
      for (let i = 0; i < 16; i++) w[i] = view.getInt32(offset + i * 4);
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15]!;
        const y = w[i - 2]!;
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
      }
      let a = h0,
        b = h1,
        c = h2,
        d = h3,
        e = h4,
        f = h5,
        g = h6,
        h = h7;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = g ^ (e & (f ^ g));
        const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) | (c & (a | b));
        const t2 = (S0 + maj) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + h) | 0;
    }
    s[0] = h0;
    s[1] = h1;
    s[2] = h2;
    s[3] = h3;
    s[4] = h4;
    s[5] = h5;
    s[6] = h6;
    s[7] = h7;
  }

  /** The same over whole blocks in `bytes`, by the WebAssembly rounds, a memory's worth at a time. */
  private compressWasm(rounds: WasmCompressor, bytes: Uint8Array): void {
    rounds.state.set(this.state);
    for (let at = 0; at < bytes.length; at += WASM_DATA_BYTES) {
      const part = bytes.subarray(at, at + WASM_DATA_BYTES);
      rounds.data.set(part);
      rounds.compress(part.length / BLOCK_BYTES);
    }
    this.state.set(rounds.state);
  }
}

/** One-shot SHA-256 of `data`, synchronous. */
export function sha256Sync(data: Uint8Array): Uint8Array {
  return new Sha256().update(data).digest();
}
