import { hexToBytes, bytesToHex } from '../../util/base64.ts';

/**
 * The swarm extension's binary chunk frame: file data without base64 or JSON, sent only on links
 * where both sides advertised the extension. A JSON frame always starts with `{` (0x7b); a binary
 * frame starts with its kind byte, so the two never collide.
 *
 *   offset  size  field
 *   0       1     kind = 0x01 (chunk)
 *   1       32    file_id (raw SHA-256)
 *   33      4     chunk_index (u32, big-endian)
 *   37      4     chunk_size  (u32, big-endian): the size the index counts in
 *   41      n     data (n = chunk_size, or less for the last chunk)
 */
export const CHUNK_FRAME_KIND = 0x01;
export const CHUNK_FRAME_HEADER_BYTES = 41;

export interface ChunkFrame {
  fileId: string;
  chunkIndex: number;
  chunkSize: number;
  data: Uint8Array;
}

/** The frame's fields other than its data. */
export type ChunkFrameHeader = Omit<ChunkFrame, 'data'>;

/** Copies `frame.data` into a new frame; `allocChunkFrame` avoids the copy when the data is read fresh. */
export function encodeChunkFrame(frame: ChunkFrame): Uint8Array {
  const out = allocChunkFrame(frame, frame.data.byteLength);
  out.set(frame.data, CHUNK_FRAME_HEADER_BYTES);
  return out;
}

/**
 * A frame for `dataBytes` bytes of chunk data, its header already written: the caller fills
 * `out.subarray(CHUNK_FRAME_HEADER_BYTES)` (e.g. reads a file straight into it) and sends `out`.
 */
export function allocChunkFrame(header: ChunkFrameHeader, dataBytes: number): Uint8Array {
  const out = new Uint8Array(CHUNK_FRAME_HEADER_BYTES + dataBytes);
  writeChunkFrameHeader(out, header);
  return out;
}

/** Writes the header fields into the first CHUNK_FRAME_HEADER_BYTES of `out`. */
export function writeChunkFrameHeader(out: Uint8Array, header: ChunkFrameHeader): void {
  const id = hexToBytes(header.fileId);
  if (!id || id.length !== 32) throw new TypeError('file_id must be 64 hex characters');
  if (out.byteLength < CHUNK_FRAME_HEADER_BYTES) throw new RangeError('buffer shorter than a chunk frame header');
  const view = new DataView(out.buffer, out.byteOffset, CHUNK_FRAME_HEADER_BYTES);
  out[0] = CHUNK_FRAME_KIND;
  out.set(id, 1);
  view.setUint32(33, header.chunkIndex);
  view.setUint32(37, header.chunkSize);
}

/** Decodes a binary frame; returns a reason instead of throwing for anything malformed. */
export function decodeChunkFrame(bytes: Uint8Array): { ok: true; frame: ChunkFrame } | { ok: false; reason: string } {
  if (bytes.byteLength < CHUNK_FRAME_HEADER_BYTES) return { ok: false, reason: 'binary frame shorter than its header' };
  if (bytes[0] !== CHUNK_FRAME_KIND) return { ok: false, reason: `unknown binary frame kind ${bytes[0]}` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkSize = view.getUint32(37);
  const data = bytes.subarray(CHUNK_FRAME_HEADER_BYTES);
  if (chunkSize === 0) return { ok: false, reason: 'chunk frame with chunk_size 0' };
  if (data.byteLength > chunkSize) return { ok: false, reason: 'chunk frame carries more data than its chunk_size' };
  return {
    ok: true,
    frame: { fileId: bytesToHex(bytes.subarray(1, 33)), chunkIndex: view.getUint32(33), chunkSize, data },
  };
}
