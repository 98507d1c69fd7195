import { readFileSync } from 'node:fs';

/**
 * The frames captured from a reference standard peer (shared/fixtures/standard-frames.jsonl), and the
 * shape two frames are compared by: their keys, recursively, and JSON types, not their values.
 */
export const FIXTURES_DIR = new URL('../../../shared/fixtures/', import.meta.url);

export interface CapturedFrame {
  dir: 'from_reference_peer' | 'to_reference_peer';
  length: number;
  frame: Record<string, any>;
}

export const capturedFrames: CapturedFrame[] = readFileSync(new URL('standard-frames.jsonl', FIXTURES_DIR), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as CapturedFrame);

/** Keys and JSON types. `public_key` is "PEM or null" in the protocol, so both count alike. */
export function frameShape(value: unknown, key = ''): unknown {
  if (key === 'public_key') return 'PEM or null';
  if (value === null) return 'null';
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, frameShape((value as any)[k], k)]),
    );
  }
  return typeof value;
}
