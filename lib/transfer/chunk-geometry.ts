/**
 * How one peer's chunks map onto the scheduler's pieces.
 *
 * The scheduler tracks a file in pieces of a fixed size (the smallest chunk size of any source,
 * 64 KiB for swarm peers). A peer that announces the file with a bigger chunk size (the standard
 * peer uses 1 MiB) is asked in its own chunks; chunk c of such a peer covers pieces
 * c*k .. c*k+k-1 with k = chunkSize / pieceSize, the last chunk and the last piece being short.
 * Hence a chunk size must be a whole multiple of the piece size, or the chunk boundaries would cut
 * pieces in two and no piece hash could check them.
 */

export type GeometryResult = { ok: true; geometry: ChunkGeometry } | { ok: false; reason: string };

export class ChunkGeometry {
  readonly fileSize: number;
  readonly pieceSize: number;
  readonly chunkSize: number;
  /** Pieces per (full) chunk. */
  readonly piecesPerChunk: number;
  /** ceil(fileSize / pieceSize); 0 for an empty file, which has nothing to download. */
  readonly pieceCount: number;
  /** ceil(fileSize / chunkSize); 0 for an empty file. */
  readonly chunkCount: number;

  private constructor(fileSize: number, pieceSize: number, chunkSize: number) {
    this.fileSize = fileSize;
    this.pieceSize = pieceSize;
    this.chunkSize = chunkSize;
    this.piecesPerChunk = chunkSize / pieceSize;
    this.pieceCount = Math.ceil(fileSize / pieceSize);
    this.chunkCount = Math.ceil(fileSize / chunkSize);
  }

  /** Checks the sizes and returns the geometry, or a reason fit for a log line. */
  static create(fileSize: number, pieceSize: number, chunkSize: number): GeometryResult {
    if (!Number.isSafeInteger(fileSize) || fileSize < 0)
      return { ok: false, reason: `file size ${fileSize} is invalid` };
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0)
      return { ok: false, reason: `piece size ${pieceSize} is invalid` };
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)
      return { ok: false, reason: `chunk size ${chunkSize} is invalid` };
    if (chunkSize % pieceSize !== 0) {
      return {
        ok: false,
        reason: `chunk size ${chunkSize} is not a multiple of the piece size ${pieceSize}`,
      };
    }
    return { ok: true, geometry: new ChunkGeometry(fileSize, pieceSize, chunkSize) };
  }

  isChunk(chunkIndex: number): boolean {
    return Number.isInteger(chunkIndex) && chunkIndex >= 0 && chunkIndex < this.chunkCount;
  }

  chunkOf(piece: number): number {
    return Math.floor(piece / this.piecesPerChunk);
  }

  firstPiece(chunkIndex: number): number {
    return chunkIndex * this.piecesPerChunk;
  }

  /** Last piece of the chunk, inclusive. */
  lastPiece(chunkIndex: number): number {
    return Math.min(this.pieceCount, (chunkIndex + 1) * this.piecesPerChunk) - 1;
  }

  /** Bytes in the chunk: chunkSize except for the last one. */
  chunkBytes(chunkIndex: number): number {
    return Math.max(0, Math.min(this.chunkSize, this.fileSize - chunkIndex * this.chunkSize));
  }

  /** Bytes in a piece: pieceSize except for the last one. */
  pieceBytes(piece: number): number {
    return Math.max(0, Math.min(this.pieceSize, this.fileSize - piece * this.pieceSize));
  }
}
