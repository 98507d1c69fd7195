/**
 * Colours that tell source peers apart in a chunk map and its legend: the index of a peer in a
 * transfer's `chunkSources` picks one; past the palette they repeat (the legend still names each).
 */
const PALETTE = [
  '#0284c7',
  '#16a34a',
  '#d97706',
  '#9333ea',
  '#db2777',
  '#0d9488',
  '#dc2626',
  '#4f46e5',
] as const;
export const MISSING_CHUNK_COLOUR = '#e2e8f0';

export function peerColour(sourceIndex: number): string {
  return sourceIndex < 0 ? MISSING_CHUNK_COLOUR : PALETTE[sourceIndex % PALETTE.length]!;
}
