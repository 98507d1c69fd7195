import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_RUNTIME_FLAGS } from '../../bin/runtime-flags.mjs';

/** The two launch lines that cannot import bin/runtime-flags.mjs carry a copy of its flags. */
const root = new URL('../../', import.meta.url);
const MIB = 1024 * 1024;

describe('the node runtime flags', () => {
  it('are on the shebang of bin/swarmdrop.mjs', () => {
    const firstLine = readFileSync(new URL('bin/swarmdrop.mjs', root), 'utf8').split('\n')[0];
    expect(firstLine).toBe(`#!/usr/bin/env -S node ${NODE_RUNTIME_FLAGS.join(' ')}`);
  });

  it('are on the command line of npm start', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${NODE_RUNTIME_FLAGS.join(' ')} bin/swarmdrop.mjs`);
  });

  it('cap the young generation', () => {
    // Objects that survive a few collections at a time: what grows V8's new space without the cap.
    const grow = `let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 5e5) keep = []; }
      const space = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(space.space_size));`;
    const newSpace = (flags: readonly string[]): number => Number(execFileSync(process.execPath, [...flags, '-e', grow], { encoding: 'utf8' }));
    expect(newSpace([])).toBeGreaterThan(8 * MIB);
    expect(newSpace(NODE_RUNTIME_FLAGS)).toBeLessThanOrEqual(2 * 2 * MIB); // two semi-spaces of 2 MiB
  });
});
