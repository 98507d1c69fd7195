/**
 * Hashing for sharing from a browser, isomorphic so it runs the same in the hashing worker and (where
 * no worker can be made) on the page: a Blob (a picked File) into its file id, Merkle leaves and root;
 * a sequence of stored pieces into the same. Every piece is hashed with the given Hasher (WebCrypto),
 * the whole file with the incremental SHA-256 (WebCrypto cannot stream).
 */
import { HASH_BYTES } from '../transfer/hasher.ts';
import type { Hasher } from '../transfer/hasher.ts';
import { chunkCount } from '../transfer/manifest.ts';
import { merkleRoot } from '../transfer/merkle.ts';
import { bytesToHex } from '../util/base64.ts';

/** Bytes per Blob read: whole pieces, large enough that per-read overhead vanishes. */
export const BLOB_READ_BYTES = 4 * 1024 * 1024;

export interface ContentHashes {
  /** sha256 hex of the whole file: the standard file_id. */
  fileId: string;
  size: number;
  chunkSize: number;
  /** Piece hashes packed: leaf i is bytes [32 i, 32 i + 32). */
  leaves: Uint8Array;
  /** Hex Merkle root over `leaves`. */
  root: string;
}

export type HashProgress = (bytesDone: number, total: number) => void;

/** Hashes pieces as they come; `finish` once all `size` bytes went through `addPiece`. */
export class PieceHashing {
  readonly #whole;
  readonly #leaves: Uint8Array;
  #index = 0;

  constructor(
    private readonly hasher: Hasher,
    private readonly size: number,
    private readonly chunkSize: number,
  ) {
    this.#whole = hasher.createStream();
    this.#leaves = new Uint8Array(chunkCount(size, chunkSize) * HASH_BYTES);
  }

  async addPiece(piece: Uint8Array): Promise<void> {
    this.#whole.update(piece);
    this.#leaves.set(await this.hasher.sha256(piece), this.#index++ * HASH_BYTES);
  }

  async finish(): Promise<ContentHashes> {
    const fileId = bytesToHex(await this.#whole.digest());
    const root = bytesToHex(await merkleRoot(this.#leaves, this.hasher));
    return { fileId, size: this.size, chunkSize: this.chunkSize, leaves: this.#leaves, root };
  }
}

export async function hashBlob(blob: Blob, chunkSize: number, hasher: Hasher, onProgress?: HashProgress): Promise<ContentHashes> {
  const hashing = new PieceHashing(hasher, blob.size, chunkSize);
  const readBytes = Math.max(1, Math.floor(BLOB_READ_BYTES / chunkSize)) * chunkSize;
  if (blob.size === 0) await hashing.addPiece(new Uint8Array(0)); // an empty file is one empty piece
  for (let position = 0; position < blob.size; position += readBytes) {
    const bytes = new Uint8Array(await blob.slice(position, position + readBytes).arrayBuffer());
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      await hashing.addPiece(bytes.subarray(offset, offset + chunkSize));
    }
    onProgress?.(Math.min(blob.size, position + readBytes), blob.size);
  }
  return hashing.finish();
}
