import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerRegistry, type PeerRecord } from '../../lib/peer/registry.ts';
import { MemoryRecordStore, SaveCoalescer, type RecordStore } from '../../lib/util/record-store.ts';
import { JsonFileStore } from '../../lib/util/record-store.node.ts';
import { ManualTimers } from '../support/manual-timers.ts';

function recorder(registry: PeerRegistry) {
  const changes: PeerRecord[] = [];
  registry.on('change', (peer) => changes.push(peer));
  return changes;
}

describe('PeerRegistry', () => {
  it('creates peers with defaults and applies only defined patch fields', () => {
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    const changes = recorder(registry);
    registry.upsert('p1', { address: '127.0.0.1', port: 9000, kind: 'node', dialable: true });
    expect(registry.get('p1')).toEqual({
      peerId: 'p1',
      address: '127.0.0.1',
      port: 9000,
      publicKey: null,
      name: null,
      kind: 'node',
      status: 'unknown',
      lastSeen: null,
      rttMs: null,
      bytesIn: 0,
      bytesOut: 0,
      transport: null,
      via: null,
      encrypted: false,
      dialable: true,
    });
    registry.upsert('p1', { address: undefined, name: 'alice' });
    expect(registry.get('p1')?.address).toBe('127.0.0.1');
    expect(registry.get('p1')?.name).toBe('alice');
    expect(changes).toHaveLength(2);

    registry.upsert('p1', { name: 'alice', port: 9000 }); // nothing changes: no event
    expect(changes).toHaveLength(2);
    registry.upsert('p1', { peerId: 'hijack' } as never);
    expect(registry.get('p1')?.peerId).toBe('p1');
    expect(registry.get('hijack')).toBeUndefined();
  });

  it('hands out copies, so callers cannot change its state behind its back', () => {
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    const changes = recorder(registry);
    registry.upsert('p1', { name: 'a' });
    registry.get('p1')!.name = 'mutated';
    registry.list()[0]!.name = 'mutated';
    changes[0]!.name = 'mutated';
    expect(registry.get('p1')?.name).toBe('a');
    expect(registry.get('nobody')).toBeUndefined();
  });

  it('emits byte counter and last-seen changes at most once per interval per peer, then the final values', () => {
    const timers = new ManualTimers();
    const registry = new PeerRegistry({ timers, counterEmitIntervalMs: 1_000 });
    registry.upsert('p1');
    registry.upsert('p2');
    const changes = recorder(registry);

    for (let i = 0; i < 1_000; i++) {
      registry.addBytes('p1', 100, 10);
      registry.markSeen('p1', timers.now());
      registry.addBytes('p2', 1, 0);
      if (i % 100 === 0) timers.advance(50); // 1,000 frames over ~500 ms
    }
    // One immediate change per peer; the rest folded into one trailing change each.
    expect(changes.map((c) => c.peerId)).toEqual(['p1', 'p2']);
    expect(changes[0]!.bytesIn).toBe(100);

    timers.advance(1_000);
    expect(changes).toHaveLength(4);
    const lastP1 = changes.filter((c) => c.peerId === 'p1').at(-1)!;
    expect(lastP1).toMatchObject({ bytesIn: 100_000, bytesOut: 10_000 });
    expect(lastP1.lastSeen).toBeGreaterThan(1_000_000);
    expect(changes.filter((c) => c.peerId === 'p2').at(-1)!.bytesIn).toBe(1_000);
    expect(registry.get('p1')).toMatchObject({ bytesIn: 100_000, bytesOut: 10_000 });
    expect(timers.pending).toBe(0);

    timers.advance(5_000); // quiet: no more events
    expect(changes).toHaveLength(4);
    registry.addBytes('p1', 1, 0); // after a quiet second, the next change is reported at once
    expect(changes).toHaveLength(5);
  });

  it('reports status changes at once even while counters are throttled, and cancels the redundant trailing emit', () => {
    const timers = new ManualTimers();
    const registry = new PeerRegistry({ timers });
    const changes = recorder(registry);
    registry.addBytes('p1', 10, 0); // creates p1 and reports it with the counter: one event
    expect(changes).toHaveLength(1);
    registry.addBytes('p1', 10, 0); // throttled: trailing scheduled
    expect(timers.pending).toBe(1);
    registry.setStatus('p1', 'online');
    expect(changes.at(-1)).toMatchObject({ status: 'online', bytesIn: 20 });
    expect(timers.pending).toBe(0);
  });

  it('forgets connection details when a peer goes offline', () => {
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    registry.upsert('p1', { status: 'online', transport: 'relay', via: 'p2', encrypted: true });
    registry.setRtt('p1', 42);
    expect(registry.get('p1')?.rttMs).toBe(42);
    registry.setStatus('p1', 'offline');
    expect(registry.get('p1')).toMatchObject({
      status: 'offline',
      rttMs: null,
      transport: null,
      via: null,
      encrypted: false,
    });
  });

  it('persists only durable fields and loads them back', () => {
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    registry.upsert('p1', {
      address: '10.0.0.1',
      port: 7000,
      publicKey: 'PEM',
      name: 'n1',
      kind: 'standard',
      status: 'online',
      rttMs: 12,
      transport: 'tcp',
      encrypted: true,
      dialable: true,
    });
    registry.addBytes('p1', 5, 6);
    registry.markSeen('p1', 123);
    const saved = registry.toJSON();
    expect(saved).toEqual([
      {
        peerId: 'p1',
        address: '10.0.0.1',
        port: 7000,
        publicKey: 'PEM',
        name: 'n1',
        kind: 'standard',
        lastSeen: 123,
        bytesIn: 5,
        bytesOut: 6,
        dialable: true,
      },
    ]);

    const restored = new PeerRegistry({ timers: new ManualTimers() });
    expect(restored.load(JSON.parse(JSON.stringify(saved)))).toBe(1);
    expect(restored.get('p1')).toMatchObject({
      ...saved[0],
      status: 'unknown',
      rttMs: null,
      transport: null,
      encrypted: false,
    });
  });

  it('skips malformed records and fields when loading', () => {
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    const loaded = registry.load([
      null,
      'p1',
      { address: 'no id' },
      { peerId: '' },
      {
        peerId: 'ok',
        port: 'eighty',
        kind: 'alien',
        bytesIn: -5,
        bytesOut: 'x',
        dialable: 'yes',
        name: 7,
        lastSeen: 5,
      },
    ]);
    expect(loaded).toBe(1);
    expect(registry.list()).toHaveLength(1);
    expect(registry.get('ok')).toMatchObject({
      port: null,
      kind: 'unknown',
      bytesIn: 0,
      bytesOut: 0,
      dialable: false,
      name: null,
      lastSeen: 5,
    });
  });

  it('destroy cancels trailing emits and is safe twice', () => {
    const timers = new ManualTimers();
    const registry = new PeerRegistry({ timers });
    registry.addBytes('p1', 1, 0);
    registry.addBytes('p1', 1, 0);
    expect(timers.pending).toBe(1);
    registry.destroy();
    registry.destroy();
    expect(timers.pending).toBe(0);
  });
});

describe('SaveCoalescer', () => {
  it('writes a burst of changes once, with the newest state', async () => {
    const timers = new ManualTimers();
    const store = new MemoryRecordStore<number>();
    let state = 0;
    const saver = new SaveCoalescer(store, () => state, { timers, delayMs: 200 });
    for (let i = 0; i < 100; i++) {
      state = i;
      saver.scheduleSave();
    }
    expect(store.saves).toBe(0);
    timers.advance(200);
    await saver.flush();
    expect(store.saves).toBe(1);
    expect(await store.load()).toBe(99);
    await saver.flush(); // nothing pending: no write
    expect(store.saves).toBe(1);
    expect(saver.pending).toBe(false);
  });

  it('flush writes at once without waiting for the delay', async () => {
    const timers = new ManualTimers();
    const store = new MemoryRecordStore<string>();
    const saver = new SaveCoalescer(store, () => 'final', { timers });
    saver.scheduleSave();
    await saver.flush();
    expect(await store.load()).toBe('final');
    expect(timers.pending).toBe(0);
  });

  it('saveNow writes a change at once and cancels the delayed save it would have made', async () => {
    const timers = new ManualTimers();
    const store = new MemoryRecordStore<string>();
    let state = 'first';
    const saver = new SaveCoalescer(store, () => state, { timers, delayMs: 200 });
    saver.scheduleSave();
    state = 'started';
    await saver.saveNow();
    expect(await store.load()).toBe('started');
    expect(store.saves).toBe(1);
    expect(timers.pending).toBe(0);
    await saver.saveNow(); // nothing changed, still written: the caller said it changed
    expect(store.saves).toBe(2);
  });

  it('never overlaps saves, and a change made during a save is written after it', async () => {
    let active = 0;
    let maxActive = 0;
    const written: number[] = [];
    const slowStore: RecordStore<number> = {
      load: async () => undefined,
      save: async (value) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        written.push(value);
        active--;
      },
    };
    let state = 1;
    const saver = new SaveCoalescer(slowStore, () => state, { delayMs: 1 });
    saver.scheduleSave();
    await new Promise((resolve) => setTimeout(resolve, 3)); // first save is running
    state = 2;
    saver.scheduleSave();
    saver.scheduleSave();
    await saver.flush();
    expect(maxActive).toBe(1);
    expect(written.at(-1)).toBe(2);
    expect(written.length).toBeLessThanOrEqual(2);
  });

  it('reports a failed background save and retries it on flush', async () => {
    const timers = new ManualTimers();
    const errors: unknown[] = [];
    let fail = true;
    const inner = new MemoryRecordStore<string>();
    const store: RecordStore<string> = {
      load: () => inner.load(),
      save: async (value) => {
        if (fail) throw new Error('disk full');
        await inner.save(value);
      },
    };
    const saver = new SaveCoalescer(store, () => 'v', { timers, onError: (err) => errors.push(err) });
    saver.scheduleSave();
    timers.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors).toHaveLength(1);
    fail = false;
    await saver.flush();
    expect(await inner.load()).toBe('v');
  });
});

describe('JsonFileStore', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('saves atomically, loads back, and returns undefined when absent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-registry-'));
    dirs.push(dir);
    const path = join(dir, 'state', 'peers.json');
    const store = new JsonFileStore<{ peers: string[] }>(path);
    expect(await store.load()).toBeUndefined();
    await store.save({ peers: ['a'] });
    await store.save({ peers: ['a', 'b'] });
    expect(await store.load()).toEqual({ peers: ['a', 'b'] });
    expect(await readdir(join(dir, 'state'))).toEqual(['peers.json']);

    const secret = new JsonFileStore<number>(join(dir, 'secret.json'), 0o600);
    await secret.save(1);
    if (process.platform !== 'win32') expect((await stat(join(dir, 'secret.json'))).mode & 0o777).toBe(0o600);

    await writeFile(path, '{"peers": [');
    await expect(store.load()).rejects.toThrow(/peers\.json is not valid JSON/);
  });

  it('persists a registry through a coalescer and restores it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-registry-'));
    dirs.push(dir);
    const store = new JsonFileStore<unknown[]>(join(dir, 'peers.json'));
    const registry = new PeerRegistry({ timers: new ManualTimers() });
    const saver = new SaveCoalescer(store, () => registry.toJSON());
    registry.on('change', () => saver.scheduleSave());
    registry.upsert('p1', { address: '127.0.0.1', port: 4000, dialable: true });
    registry.upsert('p2', { kind: 'browser' });
    await saver.flush();

    const restored = new PeerRegistry({ timers: new ManualTimers() });
    restored.load((await store.load()) ?? []);
    expect(restored.list().map((p) => p.peerId)).toEqual(['p1', 'p2']);
    expect(restored.get('p1')).toMatchObject({ address: '127.0.0.1', port: 4000, dialable: true });
  });
});
