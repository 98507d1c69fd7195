import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedHandleCache } from '../../lib/transfer/library-handles.node.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A cache over one real file, with a clock the test moves and counters of opens and checks. */
async function setup(recheckMs = 50) {
  const dir = await mkdtemp(join(tmpdir(), 'handles-'));
  dirs.push(dir);
  await writeFile(join(dir, 'a.bin'), 'abc');
  const counts = { opens: 0, checks: 0 };
  let time = 1_000;
  let indexed = true;
  const cache = new SharedHandleCache({
    open: async (name) => {
      counts.opens++;
      if (!indexed) throw new Error(`${name} changed`);
      return open(join(dir, name), 'r');
    },
    stillIndexed: async () => {
      counts.checks++;
      return indexed;
    },
    now: () => time,
    recheckMs,
    maxAgeMs: 10_000,
  });
  const read = () => cache.use('a.bin', async (h: FileHandle) => (await h.read(Buffer.alloc(3), 0, 3, 0)).bytesRead);
  return {
    cache,
    counts,
    read,
    advance: (ms: number) => void (time += ms),
    change: () => void (indexed = false),
  };
}

describe('SharedHandleCache', () => {
  it('re-checks a kept handle once per recheckMs, not once per read', async () => {
    const t = await setup(50);
    for (let i = 0; i < 5; i++) expect(await t.read()).toBe(3);
    expect(t.counts).toEqual({ opens: 1, checks: 0 }); // the open's own checks cover the first 50 ms
    t.advance(50);
    await Promise.all([t.read(), t.read(), t.read()]);
    expect(t.counts).toEqual({ opens: 1, checks: 1 }); // one fstat shared by reads that start together
    t.advance(20);
    await t.read();
    expect(t.counts.checks).toBe(1);
    t.cache.close();
  });

  it('refuses a file that changed once its check is due, through a fresh open', async () => {
    const t = await setup(50);
    await t.read();
    t.change();
    t.advance(50);
    await expect(t.read()).rejects.toThrow('changed');
    expect(t.counts).toEqual({ opens: 2, checks: 1 });
    expect(t.cache.size).toBe(0);
  });

  it('checks before every read with recheckMs 0', async () => {
    const t = await setup(0);
    await t.read();
    await t.read();
    await t.read();
    expect(t.counts).toEqual({ opens: 1, checks: 2 });
    t.cache.close();
  });
});
