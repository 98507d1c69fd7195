import { describe, it, expect, afterEach } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageHistory, type HistoryEntry, type HistoryRecord } from '../../lib/peer/message-history.ts';
import { JsonlAppendLog } from '../../lib/util/append-log.node.ts';
import { MemoryAppendLog } from '../../lib/util/record-store.ts';

interface TextEnvelope {
  message_id: string;
  type: 'text';
  sender_id: string;
  content: { text: string };
}

let clock = 1_700_000_000_000;
function outgoing(id: string, text = id): HistoryEntry<TextEnvelope> {
  return {
    direction: 'outgoing',
    payload: { message_id: id, type: 'text', sender_id: 'me', content: { text } },
    at: clock++,
    status: 'sent',
  };
}
function incoming(id: string, text = id): HistoryEntry<TextEnvelope> {
  return {
    direction: 'incoming',
    payload: { message_id: id, type: 'text', sender_id: 'them', content: { text } },
    at: clock++,
    status: 'received',
  };
}
const ids = (entries: HistoryEntry<TextEnvelope>[]) => entries.map((e) => e.payload.message_id);

const dirs: string[] = [];
async function tempLogPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-history-'));
  dirs.push(dir);
  return join(dir, 'messages.jsonl');
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('MessageHistory', () => {
  it('lists newest first, up to the limit', async () => {
    const history = new MessageHistory<TextEnvelope>();
    await history.add(outgoing('m1'));
    await history.add(incoming('m2'));
    await history.add(outgoing('m3'));
    expect(ids(history.list(10))).toEqual(['m3', 'm2', 'm1']);
    expect(ids(history.list(2))).toEqual(['m3', 'm2']);
    expect(history.list(0)).toEqual([]);
    expect(history.list(-1)).toEqual([]);
    expect(history.list(2)[0]!.payload.content.text).toBe('m3');
  });

  it('marks outgoing messages delivered once, and nothing else', async () => {
    const history = new MessageHistory<TextEnvelope>();
    const delivered: string[] = [];
    history.on('delivered', (id) => delivered.push(id));
    await history.add(outgoing('out'));
    await history.add(incoming('in'));
    expect(await history.markDelivered('out')).toBe(true);
    expect(await history.markDelivered('out')).toBe(false);
    expect(await history.markDelivered('in')).toBe(false);
    expect(await history.markDelivered('unknown')).toBe(false);
    expect(history.get('out')?.status).toBe('delivered');
    expect(history.get('in')?.status).toBe('received');
    expect(delivered).toEqual(['out']);
  });

  it('emits added entries and hands out copies', async () => {
    const history = new MessageHistory<TextEnvelope>();
    const added: string[] = [];
    history.on('added', (entry) => added.push(entry.payload.message_id));
    await history.add(outgoing('a'));
    history.list(1)[0]!.status = 'delivered';
    expect(history.get('a')?.status).toBe('sent');
    expect(added).toEqual(['a']);
  });

  it('keeps at most maxEntries in memory, dropping the oldest', async () => {
    const history = new MessageHistory<TextEnvelope>({ maxEntries: 5 });
    for (let i = 0; i < 23; i++) await history.add(outgoing(`m${i}`));
    expect(history.size).toBe(5);
    expect(ids(history.list(100))).toEqual(['m22', 'm21', 'm20', 'm19', 'm18']);
    expect(history.get('m17')).toBeUndefined();
    expect(await history.markDelivered('m3')).toBe(false); // evicted
  });

  it('replays adds and deliveries from the log', async () => {
    const log = new MemoryAppendLog<HistoryRecord<TextEnvelope>>();
    const first = new MessageHistory<TextEnvelope>({ log });
    await first.load();
    await first.add(outgoing('a'));
    await first.add(incoming('b'));
    await first.add(outgoing('c'));
    await first.markDelivered('a');
    expect(await log.readAll()).toHaveLength(4);

    const second = new MessageHistory<TextEnvelope>({ log });
    expect(await second.load()).toBe(3);
    expect(second.list(10)).toEqual(first.list(10));
    expect(second.get('a')?.status).toBe('delivered');
    expect(second.get('c')?.status).toBe('sent');
    await expect(second.load()).rejects.toThrow(/twice/);
  });

  it('replays a long log keeping only the newest maxEntries', async () => {
    const log = new MemoryAppendLog<HistoryRecord<TextEnvelope>>();
    for (let i = 0; i < 1_000; i++) await log.append(outgoing(`m${i}`));
    await log.append({ delivered: 'm999' });
    await log.append({ delivered: 'm0' }); // already evicted: ignored
    const history = new MessageHistory<TextEnvelope>({ log, maxEntries: 10 });
    await history.load();
    expect(ids(history.list(3))).toEqual(['m999', 'm998', 'm997']);
    expect(history.get('m999')?.status).toBe('delivered');
    expect(history.size).toBe(10);
  });

  it('reports a failed append without an unhandled rejection', async () => {
    const errors: unknown[] = [];
    const failure = new Error('disk full');
    const history = new MessageHistory<TextEnvelope>({
      log: { append: async () => Promise.reject(failure), readAll: async () => [] },
      onPersistError: (err) => errors.push(err),
    });
    await expect(history.add(outgoing('x'))).rejects.toBe(failure);
    void history.add(outgoing('y')); // fire and forget
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual([failure, failure]);
    expect(history.size).toBe(2); // kept in memory regardless
  });
});

describe('MessageHistory over JsonlAppendLog', () => {
  it('persists to messages.jsonl, one record per line, and reloads', async () => {
    const path = await tempLogPath();
    const history = new MessageHistory<TextEnvelope>({ log: new JsonlAppendLog(path) });
    await history.load();
    await history.add(outgoing('a', 'héllo\nworld'));
    await history.add(incoming('b'));
    await history.markDelivered('a');

    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines).toHaveLength(4); // three records and the final newline
    expect(JSON.parse(lines[2]!)).toEqual({ delivered: 'a' });

    const reloaded = new MessageHistory<TextEnvelope>({ log: new JsonlAppendLog(path) });
    await reloaded.load();
    expect(reloaded.list(10)).toEqual(history.list(10));
    expect(reloaded.get('a')?.payload.content.text).toBe('héllo\nworld');
  });

  it('skips a truncated last line from a crash, and the next append starts a fresh line', async () => {
    const path = await tempLogPath();
    const history = new MessageHistory<TextEnvelope>({ log: new JsonlAppendLog(path) });
    await history.load();
    await history.add(outgoing('a'));
    await history.add(outgoing('b'));
    const full = JSON.stringify(outgoing('c'));
    await appendFile(path, full.slice(0, full.length / 2)); // the crash: half a record, no newline

    const badLines: number[] = [];
    const log = new JsonlAppendLog<HistoryRecord<TextEnvelope>>(path, { onBadLine: (n) => badLines.push(n) });
    const afterCrash = new MessageHistory<TextEnvelope>({ log });
    expect(await afterCrash.load()).toBe(2);
    expect(badLines).toEqual([3]);
    expect(ids(afterCrash.list(10))).toEqual(['b', 'a']);

    await afterCrash.add(outgoing('d'));
    await afterCrash.markDelivered('d');
    const again = new MessageHistory<TextEnvelope>({ log: new JsonlAppendLog(path) });
    expect(await again.load()).toBe(3);
    expect(ids(again.list(10))).toEqual(['d', 'b', 'a']);
    expect(again.get('d')?.status).toBe('delivered');
  });

  it('skips a corrupt line in the middle and loads the rest', async () => {
    const path = await tempLogPath();
    await writeFile(
      path,
      [JSON.stringify(outgoing('a')), '{oops', '42', JSON.stringify(incoming('b')), ''].join('\n'),
    );
    const history = new MessageHistory<TextEnvelope>({ log: new JsonlAppendLog(path) });
    expect(await history.load()).toBe(2);
    expect(ids(history.list(10))).toEqual(['b', 'a']);
  });

  it('starts empty when the file does not exist, and keeps concurrent appends in call order', async () => {
    const path = await tempLogPath();
    const log = new JsonlAppendLog<HistoryRecord<TextEnvelope>>(path);
    expect(await log.readAll()).toEqual([]);
    const history = new MessageHistory<TextEnvelope>({ log });
    await history.load();
    await Promise.all(Array.from({ length: 50 }, (_, i) => history.add(outgoing(`m${i}`))));
    const records = (await log.readAll()) as HistoryEntry<TextEnvelope>[];
    expect(records.map((r) => r.payload.message_id)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });
});
