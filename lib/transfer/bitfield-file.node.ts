/**
 * The `.bitfield` file beside a partial download: which pieces of the `.part` file are durable.
 * Layout: "SDBF" (u32 BE), version (u8), 3 spare bytes, file size (u64 BE as two u32), piece size
 * (u32 BE), then the bits as Bitfield.toBytes() packs them. The header carries the geometry so a
 * bitfield left by a download of other size or piece size is never applied to this one.
 */
import { open, rename } from 'node:fs/promises';
import { Bitfield } from './bitfield.ts';

const BITFIELD_MAGIC = 0x53444246;
const BITFIELD_VERSION = 1;
const BITFIELD_HEADER_BYTES = 20;
const TWO_TO_THE_32 = 0x1_0000_0000;

/** The download a bitfield file describes; a file written for other geometry is ignored. */
export interface BitfieldGeometry {
  fileSize: number;
  /** Piece size in bytes. */
  chunkSize: number;
}

/** Reads the bitfield file; anything unreadable or for other geometry means "nothing held". */
export async function loadBitfieldFile(
  path: string,
  geometry: BitfieldGeometry,
  count: number,
  partBytes: number,
): Promise<Bitfield> {
  const bytes = await readOptional(path);
  if (bytes === null || bytes.length < BITFIELD_HEADER_BYTES) return new Bitfield(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileSize = view.getUint32(8) * TWO_TO_THE_32 + view.getUint32(12);
  const sameGeometry =
    view.getUint32(0) === BITFIELD_MAGIC &&
    view.getUint8(4) === BITFIELD_VERSION &&
    fileSize === geometry.fileSize &&
    view.getUint32(16) === geometry.chunkSize;
  if (!sameGeometry) return new Bitfield(count);
  let held: Bitfield;
  try {
    held = Bitfield.fromBytes(bytes.subarray(BITFIELD_HEADER_BYTES), count);
  } catch {
    return new Bitfield(count);
  }
  // Belt and braces: a bit whose piece lies past the end of the partial file cannot be true.
  for (let i = 0; i < count; i++) {
    if (held.get(i) && Math.min((i + 1) * geometry.chunkSize, geometry.fileSize) > partBytes)
      held.set(i, false);
  }
  return held;
}

/**
 * Replaces the bitfield file atomically: write a temporary file, fsync it, rename it over, so the
 * file on disk is always a whole view, never a torn one.
 */
export async function writeBitfieldFile(
  path: string,
  geometry: BitfieldGeometry,
  snapshot: Uint8Array,
): Promise<void> {
  const header = new DataView(new ArrayBuffer(BITFIELD_HEADER_BYTES));
  header.setUint32(0, BITFIELD_MAGIC);
  header.setUint8(4, BITFIELD_VERSION);
  header.setUint32(8, Math.floor(geometry.fileSize / TWO_TO_THE_32));
  header.setUint32(12, geometry.fileSize >>> 0);
  header.setUint32(16, geometry.chunkSize);
  const tmpPath = `${path}.tmp`;
  const tmp = await open(tmpPath, 'w');
  try {
    // writeFile on a handle loops until every byte is written, from the start of the new file.
    await tmp.writeFile(Buffer.concat([new Uint8Array(header.buffer), snapshot]));
    await tmp.datasync();
  } finally {
    await tmp.close();
  }
  await rename(tmpPath, path);
}

async function readOptional(path: string): Promise<Uint8Array | null> {
  const file = await open(path, 'r').catch(() => null);
  if (file === null) return null;
  try {
    return await file.readFile();
  } finally {
    await file.close();
  }
}
