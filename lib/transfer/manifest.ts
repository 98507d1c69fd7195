/**
 * Manifests and the content root: pure functions, no I/O.
 *
 * Two views of one file:
 * - the **standard manifest** of STANDARD-PROTOCOL.md (`file_id` = SHA-256 of the whole file), which
 *   every peer understands and which only allows a whole-file check at the end;
 * - the swarm **content info** (`ContentInfo`), a Merkle root over SHA-256 hashes of small pieces
 *   (64 KiB by default), so swarm peers check every piece as it arrives. The tree is defined in merkle.ts.
 */
import type { Hasher } from './hasher.ts';
import { isSha256Hex } from './hasher.ts';
import { bytesEqual } from '../util/bytes.ts';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Piece size of the swarm content info: small enough that a bad piece wastes little, big enough
 *  that the hash list stays 1/2048 of the file. */
export const DEFAULT_CHUNK_SIZE = 64 * KIB;
/** standard: the reference peer uses 1 MiB chunks, so that is what we announce to standard peers. */
export const STANDARD_CHUNK_SIZE = 1 * MIB;
/** standard: the reference peer rejects base64 `data` over 2 MiB, i.e. chunks over 1.5 MiB. */
export const MAX_STANDARD_CHUNK_BYTES = 1.5 * MIB;
/** Largest chunk size we accept in a received manifest. Generous on purpose: a standard peer could
 *  only send chunks up to ~7.5 MiB (base64 in a 10 MiB frame), but the manifest itself is harmless. */
export const MAX_RECEIVED_CHUNK_BYTES = 16 * MIB;
/** A file name longer than this in a manifest is refused; sanitising to a short name happens at write time. */
export const MAX_MANIFEST_NAME_CHARS = 4096;
/** Owner ids are opaque strings; this only bounds memory. */
export const MAX_OWNER_CHARS = 1024;
/** Upper bound on leaves in a content info we accept (128 MiB of hashes; 256 GiB at 64 KiB pieces). */
export const MAX_LEAF_COUNT = 4 * MIB;

// ---------------------------------------------------------------------------------------------
// Standard manifest

/** Exactly the `file_manifest` content of STANDARD-PROTOCOL.md. */
export interface StandardManifest {
  file_id: string;
  file_name: string;
  file_size: number;
  chunk_size: number;
  chunk_count: number;
  checksum: string;
  owner: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };
export type ManifestValidation = { ok: true; manifest: StandardManifest } | { ok: false; reason: string };

/** Number of chunks: ceil(size / chunkSize), and 1 for an empty file (the standard's rule). */
export function chunkCount(fileSize: number, chunkSize: number): number {
  assertGeometry(fileSize, chunkSize);
  return fileSize === 0 ? 1 : Math.ceil(fileSize / chunkSize);
}

/** Byte range [start, end) of chunk `index`; the last chunk is short, an empty file's chunk 0 is empty. */
export function chunkRange(
  fileSize: number,
  chunkSize: number,
  index: number,
): { start: number; end: number } {
  const count = chunkCount(fileSize, chunkSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`chunk index ${index} outside 0..${count - 1}`);
  }
  const start = index * chunkSize;
  return { start, end: Math.min(start + chunkSize, fileSize) };
}

/** Builds the manifest we announce; `owner` is the announcing node's peer id. */
export function makeStandardManifest(args: {
  fileId: string;
  fileName: string;
  fileSize: number;
  owner: string;
  chunkSize?: number;
}): StandardManifest {
  const chunkSize = args.chunkSize ?? STANDARD_CHUNK_SIZE;
  const manifest: StandardManifest = {
    file_id: args.fileId,
    file_name: args.fileName,
    file_size: args.fileSize,
    chunk_size: chunkSize,
    chunk_count: chunkCount(args.fileSize, chunkSize),
    checksum: args.fileId,
    owner: args.owner,
  };
  const check = validateStandardManifest(manifest, { maxChunkSize: MAX_STANDARD_CHUNK_BYTES });
  if (!check.ok) throw new RangeError(`cannot build manifest: ${check.reason}`);
  return manifest;
}

/**
 * Validates a received (or outgoing) manifest. Returns a copy holding only the standard fields, so
 * unknown extra fields are ignored. `maxChunkSize` defaults to what we accept from others; pass
 * MAX_STANDARD_CHUNK_BYTES for what we send. Ids must be lower-case hex, as the reference peer
 * sends them, and `checksum` must equal `file_id` (the protocol says they are the same hash).
 */
export function validateStandardManifest(
  x: unknown,
  options: { maxChunkSize?: number } = {},
): ManifestValidation {
  const maxChunkSize = options.maxChunkSize ?? MAX_RECEIVED_CHUNK_BYTES;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return fail('manifest is not an object');
  const m = x as Record<string, unknown>;
  if (!isSha256Hex(m.file_id)) return fail('file_id is not a lower-case sha256 hex string');
  if (m.checksum !== m.file_id) return fail('checksum differs from file_id');
  if (typeof m.file_name !== 'string' || m.file_name.length === 0)
    return fail('file_name is not a non-empty string');
  if (m.file_name.length > MAX_MANIFEST_NAME_CHARS)
    return fail(`file_name longer than ${MAX_MANIFEST_NAME_CHARS}`);
  if (!isSize(m.file_size)) return fail('file_size is not a safe non-negative integer');
  if (!isSize(m.chunk_size) || m.chunk_size < 1 || m.chunk_size > maxChunkSize) {
    return fail(`chunk_size is not an integer in 1..${maxChunkSize}`);
  }
  if (m.chunk_count !== chunkCount(m.file_size, m.chunk_size))
    return fail('chunk_count inconsistent with file_size');
  if (typeof m.owner !== 'string' || m.owner.length === 0 || m.owner.length > MAX_OWNER_CHARS) {
    return fail('owner is not a non-empty string');
  }
  return {
    ok: true,
    manifest: {
      file_id: m.file_id,
      file_name: m.file_name,
      file_size: m.file_size,
      chunk_size: m.chunk_size,
      chunk_count: m.chunk_count,
      checksum: m.file_id,
      owner: m.owner,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Swarm content info

/** What swarm peers exchange beside the standard manifest. */
export interface ContentInfo {
  /** Hex Merkle root over the piece hashes (definition in merkle.ts). */
  root: string;
  /** Piece size in bytes (DEFAULT_CHUNK_SIZE unless the sharer chose otherwise). */
  chunk_size: number;
  /** Number of pieces = Merkle leaves = chunkCount(file_size, chunk_size). */
  hash_count: number;
}

/** Checks a received content info against the manifest's file size; copies only known fields. */
export function validateContentInfo(x: unknown, fileSize: number): Validation<ContentInfo> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return fail('content info is not an object');
  const c = x as Record<string, unknown>;
  if (!isSha256Hex(c.root)) return fail('root is not a lower-case sha256 hex string');
  if (!isSize(c.chunk_size) || c.chunk_size < 1 || c.chunk_size > MAX_RECEIVED_CHUNK_BYTES) {
    return fail(`chunk_size is not an integer in 1..${MAX_RECEIVED_CHUNK_BYTES}`);
  }
  if (c.hash_count !== chunkCount(fileSize, c.chunk_size))
    return fail('hash_count inconsistent with file size');
  if (c.hash_count > MAX_LEAF_COUNT) return fail(`more than ${MAX_LEAF_COUNT} hashes`);
  return { ok: true, value: { root: c.root, chunk_size: c.chunk_size, hash_count: c.hash_count } };
}

// ---------------------------------------------------------------------------------------------
// Mapping between chunk sizes (a 1 MiB standard chunk vs 64 KiB swarm pieces)

/** Indexes [first, last] of the pieces of size `pieceSize` that overlap chunk `otherIndex` of size `otherChunkSize`. */
export function coveringPieces(
  fileSize: number,
  pieceSize: number,
  otherChunkSize: number,
  otherIndex: number,
): { first: number; last: number } {
  return overlapping(fileSize, chunkRange(fileSize, otherChunkSize, otherIndex), pieceSize);
}

/** The inverse: indexes [first, last] of the chunks of size `otherChunkSize` that overlap piece `pieceIndex`. */
export function coveringChunks(
  fileSize: number,
  pieceSize: number,
  otherChunkSize: number,
  pieceIndex: number,
): { first: number; last: number } {
  return overlapping(fileSize, chunkRange(fileSize, pieceSize, pieceIndex), otherChunkSize);
}

/** Result of checking a foreign-sized chunk against piece hashes. */
export type PieceCheck =
  /** every byte of the chunk was covered by a matching piece hash */
  | { result: 'verified' }
  /** this piece's hash did not match: the chunk is bad */
  | { result: 'corrupt'; piece: number }
  /** nothing mismatched, but some bytes could not be checked: they lie in a piece the chunk only
   *  partly covers (chunk size not a multiple of the piece size) or whose hash is not known yet.
   *  Such bytes are vouched for only by the whole-file check against file_id. */
  | { result: 'partial'; uncheckedBytes: number };

/**
 * Checks chunk `otherIndex` (size `otherChunkSize`, e.g. a standard 1 MiB chunk, which carries no
 * hash of its own) against the piece hashes known so far. Pieces the chunk covers entirely are
 * hashed and compared; edge bytes of pieces it covers in part are not kept for later, they are left
 * to the whole-file check (documented simplification; 1 MiB over 64 KiB is always aligned).
 */
export async function checkChunkAgainstPieces(args: {
  fileSize: number;
  pieceSize: number;
  otherChunkSize: number;
  otherIndex: number;
  data: Uint8Array;
  pieceHash: (index: number) => Uint8Array | undefined;
  hasher: Hasher;
}): Promise<PieceCheck> {
  const { fileSize, pieceSize, data, hasher } = args;
  const chunk = chunkRange(fileSize, args.otherChunkSize, args.otherIndex);
  if (data.length !== chunk.end - chunk.start)
    throw new RangeError('chunk data length does not match its range');
  const { first, last } = coveringPieces(fileSize, pieceSize, args.otherChunkSize, args.otherIndex);
  let uncheckedBytes = 0;
  for (let piece = first; piece <= last; piece++) {
    const range = chunkRange(fileSize, pieceSize, piece);
    const from = Math.max(range.start, chunk.start);
    const to = Math.min(range.end, chunk.end);
    const expected = args.pieceHash(piece);
    const whole = range.start >= chunk.start && range.end <= chunk.end;
    if (!whole || expected === undefined) {
      uncheckedBytes += to - from;
      continue;
    }
    const actual = await hasher.sha256(data.subarray(range.start - chunk.start, range.end - chunk.start));
    if (!bytesEqual(actual, expected)) return { result: 'corrupt', piece };
  }
  return uncheckedBytes === 0 ? { result: 'verified' } : { result: 'partial', uncheckedBytes };
}

// ---------------------------------------------------------------------------------------------
// helpers

function overlapping(
  fileSize: number,
  range: { start: number; end: number },
  size: number,
): { first: number; last: number } {
  if (range.end === range.start) return { first: 0, last: 0 }; // only an empty file has an empty chunk
  const count = chunkCount(fileSize, size);
  return {
    first: Math.floor(range.start / size),
    last: Math.min(Math.floor((range.end - 1) / size), count - 1),
  };
}

function assertGeometry(fileSize: number, chunkSize: number): void {
  if (!isSize(fileSize)) throw new RangeError(`file size ${fileSize} is not a safe non-negative integer`);
  if (!isSize(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunk size ${chunkSize} is not a positive integer`);
}

function isSize(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
