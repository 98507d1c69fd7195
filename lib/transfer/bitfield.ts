/**
 * Which chunks a peer holds: one bit per chunk, most significant bit first in each byte
 * (BitTorrent's order, so bit i lives in byte i >> 3 under mask 0x80 >> (i & 7)). Spare bits in
 * the last byte are always zero.
 */
export class Bitfield {
  readonly length: number;
  private readonly bits: Uint8Array;
  private setCount = 0;

  constructor(length: number) {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new RangeError(`bitfield length ${length} is invalid`);
    this.length = length;
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }

  /** Parses bytes from the wire or disk; throws when their size does not fit `length` or spare bits are set. */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield {
    const field = new Bitfield(length);
    if (bytes.length !== field.bits.length) {
      throw new RangeError(
        `bitfield of ${length} bits needs ${field.bits.length} bytes, got ${bytes.length}`,
      );
    }
    const spare = field.bits.length * 8 - length;
    if (spare > 0 && (bytes[bytes.length - 1]! & ((1 << spare) - 1)) !== 0) {
      throw new RangeError('bitfield has bits set past its length');
    }
    field.bits.set(bytes);
    for (const byte of bytes) field.setCount += popcount(byte);
    return field;
  }

  /** Number of bits set. */
  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.length;
  }

  get(index: number): boolean {
    if (!this.inRange(index)) return false;
    return (this.bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets (or clears) bit `index`; returns true when the bit changed. */
  set(index: number, value = true): boolean {
    if (!this.inRange(index)) throw new RangeError(`bit ${index} outside 0..${this.length - 1}`);
    if (this.get(index) === value) return false;
    this.bits[index >> 3]! ^= 0x80 >> (index & 7);
    this.setCount += value ? 1 : -1;
    return true;
  }

  /** Lowest clear bit at or after `from`, or -1 when every bit from there on is set. */
  firstMissing(from = 0): number {
    for (let i = Math.max(0, from); i < this.length; i++) {
      const byte = this.bits[i >> 3]!;
      if (byte === 0xff && (i & 7) === 0) {
        i += 7; // whole byte set: skip it
        continue;
      }
      if ((byte & (0x80 >> (i & 7))) === 0) return i;
    }
    return -1;
  }

  /** A copy of the bytes, safe to send or store. */
  toBytes(): Uint8Array {
    return this.bits.slice();
  }

  clone(): Bitfield {
    return Bitfield.fromBytes(this.bits, this.length);
  }

  private inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.length;
  }
}

function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
}
