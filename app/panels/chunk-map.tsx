'use client';
import { useEffect, useRef } from 'react';
import { TEST_IDS } from '../test-ids.ts';
import { peerColour } from '../ui/peer-colors.ts';

/** Cells per row and cell size: 64 columns keep a 4,096-chunk file (256 MiB) to 64 rows of 4 px. */
const COLUMNS = 64;
const CELL_PX = 4;
const GAP_PX = 1;

/**
 * Which chunk came from which peer: one cell per chunk, coloured by its source (transfers-panel's
 * legend names the colours). A canvas, because a large file has thousands of chunks and a DOM node
 * each would cost more than the rest of the page.
 */
export function ChunkMap({ chunkMap, label }: { chunkMap: number[]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const rows = Math.max(1, Math.ceil(chunkMap.length / COLUMNS));
  const columns = Math.min(COLUMNS, Math.max(1, chunkMap.length));
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    context.clearRect(0, 0, context.canvas.width, context.canvas.height);
    chunkMap.forEach((source, index) => {
      context.fillStyle = peerColour(source);
      const x = (index % COLUMNS) * (CELL_PX + GAP_PX);
      const y = Math.floor(index / COLUMNS) * (CELL_PX + GAP_PX);
      context.fillRect(x, y, CELL_PX, CELL_PX);
    });
  }, [chunkMap]);
  return (
    <canvas
      ref={canvas}
      data-testid={TEST_IDS.chunkMap}
      data-chunks={chunkMap.length}
      data-missing={chunkMap.filter((source) => source < 0).length}
      role="img"
      aria-label={label}
      width={columns * (CELL_PX + GAP_PX)}
      height={rows * (CELL_PX + GAP_PX)}
      className="mt-2 max-w-full [image-rendering:pixelated]"
    />
  );
}
