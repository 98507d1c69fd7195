import { describe, expect, it } from 'vitest';
import { ChunkGeometry } from '../../lib/transfer/chunk-geometry.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

function geometry(fileSize: number, chunkSize: number): ChunkGeometry {
  const made = ChunkGeometry.create(fileSize, 64 * KiB, chunkSize);
  if (!made.ok) throw new Error(made.reason);
  return made.geometry;
}

describe('ChunkGeometry', () => {
  it('maps 1 MiB chunks onto 64 KiB pieces, with a short last chunk and piece', () => {
    const g = geometry(2 * MiB + 100, MiB);
    expect([g.pieceCount, g.chunkCount, g.piecesPerChunk]).toEqual([33, 3, 16]);
    expect([g.firstPiece(1), g.lastPiece(1)]).toEqual([16, 31]);
    expect([g.firstPiece(2), g.lastPiece(2)]).toEqual([32, 32]);
    expect([g.chunkBytes(1), g.chunkBytes(2)]).toEqual([MiB, 100]);
    expect([g.pieceBytes(31), g.pieceBytes(32)]).toEqual([64 * KiB, 100]);
    expect(g.chunkOf(31)).toBe(1);
    expect([g.isChunk(2), g.isChunk(3), g.isChunk(-1), g.isChunk(0.5)]).toEqual([true, false, false, false]);
  });

  it('has no pieces or chunks for an empty file', () => {
    expect([geometry(0, MiB).pieceCount, geometry(0, MiB).chunkCount]).toEqual([0, 0]);
  });

  it('refuses a chunk size that would cut pieces in two, and invalid sizes', () => {
    expect(ChunkGeometry.create(MiB, 64 * KiB, 96 * KiB)).toEqual({
      ok: false,
      reason: `chunk size ${96 * KiB} is not a multiple of the piece size ${64 * KiB}`,
    });
    expect(ChunkGeometry.create(-1, 64 * KiB, MiB).ok).toBe(false);
    expect(ChunkGeometry.create(MiB, 0, MiB).ok).toBe(false);
    expect(ChunkGeometry.create(MiB, 64 * KiB, 0).ok).toBe(false);
  });
});
