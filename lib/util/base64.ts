/**
 * Byte <-> text helpers that behave the same in Node and in browsers (one code path: no Buffer),
 * and stay linear for megabyte inputs: encoding fills a byte array of ASCII codes and decodes it
 * once, instead of concatenating a string a character at a time.
 */

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = '='.charCodeAt(0);
/** Marks a character that is not in the base64 alphabet in the decode table. */
const INVALID = 0xff;

const ENCODE_TABLE = Uint8Array.from(BASE64_ALPHABET, (c) => c.charCodeAt(0));
const DECODE_TABLE = (() => {
  const table = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

const HEX_DIGIT_CODES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

// Output is pure ASCII, which UTF-8 decodes one byte to one character.
const asciiDecoder = new TextDecoder();

/** Standard base64 (RFC 4648 section 4) with `=` padding, as Python's `base64.b64encode` produces. */
export function bytesToBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE_TABLE[n >> 18]!;
    out[o++] = ENCODE_TABLE[(n >> 12) & 63]!;
    out[o++] = ENCODE_TABLE[(n >> 6) & 63]!;
    out[o++] = ENCODE_TABLE[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out[o++] = ENCODE_TABLE[n >> 18]!;
    out[o++] = ENCODE_TABLE[(n >> 12) & 63]!;
    out[o++] = PAD;
    out[o++] = PAD;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out[o++] = ENCODE_TABLE[n >> 18]!;
    out[o++] = ENCODE_TABLE[(n >> 12) & 63]!;
    out[o++] = ENCODE_TABLE[(n >> 6) & 63]!;
    out[o++] = PAD;
  }
  return asciiDecoder.decode(out);
}

/**
 * Strict standard base64 decode: returns null unless `text` is exactly what `bytesToBase64` would
 * produce for some bytes (alphabet `A-Za-z0-9+/`, length a multiple of 4, `=` padding only at the
 * end, no whitespace, unused trailing bits zero). Being strict means one byte string has one
 * encoding, so a hash or signature over the text and over the bytes can never disagree.
 */
export function base64ToBytes(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  let padding = 0;
  if (text.length > 0 && text.charCodeAt(text.length - 1) === PAD) padding++;
  if (text.length > 1 && text.charCodeAt(text.length - 2) === PAD) padding++;
  const dataChars = text.length - padding;
  const out = new Uint8Array((text.length / 4) * 3 - padding);

  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < dataChars; i++) {
    const code = text.charCodeAt(i);
    const value = code < 256 ? DECODE_TABLE[code]! : INVALID;
    if (value === INVALID) return null;
    acc = ((acc << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Bits left over after the last whole byte must be zero in a canonical encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

/** Lowercase hex, two digits per byte. */
export function bytesToHex(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX_DIGIT_CODES[bytes[i]! >> 4]!;
    out[2 * i + 1] = HEX_DIGIT_CODES[bytes[i]! & 15]!;
  }
  return asciiDecoder.decode(out);
}

/** Hex (either case) to bytes; null on an odd length or a non-hex character. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigitValue(hex.charCodeAt(2 * i));
    const lo = hexDigitValue(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexDigitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}
