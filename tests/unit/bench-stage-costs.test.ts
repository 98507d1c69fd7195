import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MB, MIB } from '../../bench/lib/ceilings.ts';
import type { Ceiling } from '../../bench/lib/ceilings.ts';
import { HASH_PASSES, measureStageFloor } from '../../bench/lib/stage-costs.ts';

const BYTES = 8 * MIB;

/** A SHA-256 ceiling as measureCeilings returns it: 0.25 CPU-s for twice the bytes measured here. */
const sha: Ceiling = {
  name: 'SHA-256 (node:crypto)',
  bytes: 2 * BYTES,
  ms: 300,
  mbPerSec: 0,
  timed: '',
  cpuS: 0.25,
};

describe('bench stage costs', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('costs a TLS copy, three hashing passes and the writes, and bounds a transfer by their sum on every core', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stage-costs-'));
    const floor = await measureStageFloor(dir, BYTES, sha);

    const [tlsCopy, hashing, writes] = floor.stages;
    expect(floor.stages).toHaveLength(3);
    expect(tlsCopy!.cpuS).toBeGreaterThan(0);
    // The ceiling's CPU scaled to this size, once per pass.
    expect(hashing!.cpuS).toBeCloseTo(HASH_PASSES * 0.125, 6);
    expect(writes!.cpuS).toBeGreaterThan(0);
    expect(floor.cpuS).toBeCloseTo(tlsCopy!.cpuS + hashing!.cpuS + writes!.cpuS, 6);
    expect(floor.cores).toBe(availableParallelism());
    expect(floor.boundMbPerSec).toBeCloseTo(BYTES / MB / (floor.cpuS / floor.cores), 6);
    expect(floor.writeMbPerSec).toBeGreaterThan(0);
    // The write stage's file is gone afterwards.
    expect(await readdir(dir)).toEqual([]);
  });
});
