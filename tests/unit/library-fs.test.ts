import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, open, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { hashFile } from '../../lib/transfer/file-hashing.node.ts';
import { FsLibrary } from '../../lib/transfer/library-fs.node.ts';
import { isLibraryError } from '../../lib/transfer/library.ts';
import type { LocalFile } from '../../lib/transfer/library.ts';
import type { LogFields, Logger } from '../../lib/util/logger.ts';
import { sha256Hex } from '../support/files.ts';

const SETTLE_MS = 300;
/** Generous bound for anything the watcher must notice (settle + hashing on a slow machine). */
const WAIT_MS = 10_000;

interface Line extends LogFields {
  level: string;
  msg: string;
}

function memoryLogger(lines: Line[]): Logger {
  const at = (level: string) => (fields: LogFields, msg: string) => lines.push({ ...fields, level, msg });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

const dirs: string[] = [];
const libraries: FsLibrary[] = [];

afterEach(async () => {
  await Promise.all(libraries.splice(0).map((l) => l.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function setup(files: Record<string, Uint8Array | string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-library-'));
  dirs.push(dir);
  const shared = join(dir, 'shared_files');
  await mkdir(shared);
  for (const [name, data] of Object.entries(files)) await writeFile(join(shared, name), data);
  return { dir, shared };
}

async function openLibrary(dir: string, lines: Line[] = []) {
  const library = await FsLibrary.open({ dir, log: memoryLogger(lines), settleMs: SETTLE_MS });
  libraries.push(library);
  return library;
}

function nextEvent(library: FsLibrary, event: 'added' | 'removed', match: (f: LocalFile) => boolean = () => true) {
  return new Promise<LocalFile>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${WAIT_MS} ms`)), WAIT_MS);
    const off = library.on(event, (file) => {
      if (!match(file)) return;
      clearTimeout(timer);
      off();
      resolve(file);
    });
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FsLibrary', () => {
  it('indexes shared_files at start, hashing each file, and logs it', async () => {
    const big = randomBytes(300_000);
    const { dir, shared } = await setup({ 'big.bin': big, 'note.txt': 'hello', 'empty.dat': '' });
    const lines: Line[] = [];
    const library = await openLibrary(dir, lines);
    const added: LocalFile[] = [];
    library.on('added', (f) => added.push(f));
    await library.start();

    expect(library.list()).toHaveLength(3);
    expect(added).toHaveLength(3);
    expect(library.filesHashed).toBe(3);
    const file = library.get(sha256Hex(big))!;
    const expected = await hashFile(join(shared, 'big.bin'));
    expect(file).toEqual({ fileId: expected.fileId, name: 'big.bin', size: big.length, chunkSize: 65536, root: expected.root, hashCount: 5 });
    expect(Buffer.from(await library.leaves(file.fileId)).equals(expected.leaves)).toBe(true);
    expect(library.get(sha256Hex(''))?.hashCount).toBe(1);
    expect(lines.filter((l) => l.msg === 'hashed a shared file')).toHaveLength(3);
    expect(lines.some((l) => l.msg === 'shared files indexed' && l.shared === 3 && l.hashed === 3)).toBe(true);
    expect(existsSync(join(dir, 'library.json'))).toBe(true);
  });

  it('does not hash unchanged files again after a reopen, but does hash a changed one', async () => {
    const { dir, shared } = await setup({ 'a.bin': randomBytes(100_000), 'b.bin': randomBytes(10) });
    const first = await openLibrary(dir);
    await first.start();
    const before = first.list().map((f) => f.fileId).sort();
    await first.close();

    const lines: Line[] = [];
    const second = await openLibrary(dir, lines);
    await second.start();
    expect(second.filesHashed).toBe(0);
    expect(lines.some((l) => l.msg === 'hashed a shared file')).toBe(false);
    expect(second.list().map((f) => f.fileId).sort()).toEqual(before);
    await second.close();

    const changed = randomBytes(10);
    await writeFile(join(shared, 'b.bin'), changed);
    const third = await openLibrary(dir);
    await third.start();
    expect(third.filesHashed).toBe(1);
    expect(third.get(sha256Hex(changed))?.name).toBe('b.bin');
    expect(third.list()).toHaveLength(2);
  });

  it('shares a file copied in after start, without a restart', async () => {
    const { dir, shared } = await setup();
    const library = await openLibrary(dir);
    await library.start();
    expect(library.list()).toEqual([]);
    const data = randomBytes(70_000);
    const added = nextEvent(library, 'added');
    await writeFile(join(shared, 'later.bin'), data);
    const file = await added;
    expect(file).toMatchObject({ fileId: sha256Hex(data), name: 'later.bin', size: data.length });
    expect(sha256Hex(await library.read(file.fileId, 0, data.length))).toBe(sha256Hex(data));
  });

  it('hashes a file being written slowly once, after it has settled', async () => {
    const { dir, shared } = await setup();
    const library = await openLibrary(dir);
    await library.start();
    const added = nextEvent(library, 'added');
    const handle = await open(join(shared, 'slow.bin'), 'w');
    const parts: Buffer[] = [];
    for (let i = 0; i < 25; i++) {
      const part = randomBytes(16_384);
      parts.push(part);
      await handle.write(part);
      await sleep(SETTLE_MS / 6);
    }
    await handle.close();
    const file = await added;
    expect(file.fileId).toBe(sha256Hex(Buffer.concat(parts)));
    await sleep(SETTLE_MS * 3); // any second (late) hash would show up by now
    expect(library.filesHashed).toBe(1);
    expect(library.list()).toHaveLength(1);
  });

  it('keeps a file unshared across changes of mtime and a reopen, and shares it again when its content changes', async () => {
    const data = randomBytes(5000);
    const { dir, shared } = await setup({ 'keep.bin': data });
    const path = join(shared, 'keep.bin');
    const library = await openLibrary(dir);
    await library.start();
    const removed = nextEvent(library, 'removed');
    expect(await library.remove(sha256Hex(data))).toBe(true);
    expect((await removed).fileId).toBe(sha256Hex(data));
    expect(library.list()).toEqual([]);
    expect(existsSync(path)).toBe(true);
    expect(await library.remove(sha256Hex(data))).toBe(false);

    // The watcher re-hashes a touched file, and still does not share it.
    const touchedAt = new Date(Date.now() + 5000);
    await utimes(path, touchedAt, touchedAt);
    await until(() => library.filesHashed === 2, 'the touched file to be hashed again');
    expect(library.list()).toEqual([]);
    await library.close();

    const reopened = await openLibrary(dir);
    await reopened.start();
    expect(reopened.list()).toEqual([]);
    expect(reopened.filesHashed).toBe(0);

    const changed = randomBytes(5000);
    const added = nextEvent(reopened, 'added');
    await writeFile(path, changed);
    expect((await added).fileId).toBe(sha256Hex(changed));
  });

  it('shares unshared content again when it is added explicitly', async () => {
    const data = randomBytes(1000);
    const { dir, shared } = await setup({ 'x.bin': data });
    const library = await openLibrary(dir);
    await library.start();
    await library.remove(sha256Hex(data));
    const file = await library.addFile(join(shared, 'x.bin'));
    expect(file.fileId).toBe(sha256Hex(data));
    expect(library.list()).toHaveLength(1);
    await expect(library.addFile(join(dir, 'x.bin'))).rejects.toSatisfy((e) => isLibraryError(e, 'UNSAFE_PATH'));
  });

  it('deletes every copy from disk with deleteFromDisk, and forgets its hashes', async () => {
    const data = randomBytes(2000);
    const { dir, shared } = await setup({ 'one.bin': data });
    const library = await openLibrary(dir);
    await library.start();
    await copyFile(join(shared, 'one.bin'), join(shared, 'two.bin'));
    await library.addFile(join(shared, 'two.bin'));
    expect(await library.remove(sha256Hex(data), { deleteFromDisk: true })).toBe(true);
    expect(existsSync(join(shared, 'one.bin'))).toBe(false);
    expect(existsSync(join(shared, 'two.bin'))).toBe(false);
    await until(() => !existsSync(join(dir, 'hashes', `${sha256Hex(data)}.leaves`)), 'the hash file to go');
    expect(library.list()).toEqual([]);
    expect(await library.remove(sha256Hex(data), { deleteFromDisk: true })).toBe(false);
    await library.close();
    const reopened = await openLibrary(dir);
    await reopened.start();
    expect(reopened.list()).toEqual([]);
  });

  it('never shares a symlink, and read refuses a shared name swapped for a symlink', async () => {
    const data = randomBytes(100);
    const { dir, shared } = await setup({ 'real.bin': data });
    await symlink('/etc/passwd', join(shared, 'passwd'));
    await symlink(join(shared, 'real.bin'), join(shared, 'inside-link.bin'));
    const lines: Line[] = [];
    const library = await openLibrary(dir, lines);
    await library.start();
    expect(library.list().map((f) => f.name)).toEqual(['real.bin']);
    expect(lines.filter((l) => l.msg === 'not sharing a symlink in shared_files')).toHaveLength(2);
    await expect(library.addFile(join(shared, 'passwd'))).rejects.toSatisfy((e) => isLibraryError(e, 'UNSAFE_PATH'));
    expect(library.list()).toHaveLength(1);

    // Swap the shared name for a symlink and read before the watcher has settled on the change.
    await symlink('/etc/passwd', join(shared, 'swap'));
    await rename(join(shared, 'swap'), join(shared, 'real.bin'));
    await expect(library.read(sha256Hex(data), 0, 10)).rejects.toSatisfy((e) => isLibraryError(e, 'UNSAFE_PATH'));
    await nextEvent(library, 'removed');
    expect(library.list()).toEqual([]);
  });

  it('reads exact byte ranges and refuses ranges outside the file', async () => {
    const data = randomBytes(200_000);
    const { dir } = await setup({ 'range.bin': data });
    const library = await openLibrary(dir);
    await library.start();
    const id = sha256Hex(data);
    for (const [start, length] of [[0, 10], [65_530, 20], [131_072, 65_536], [data.length - 5, 5], [0, data.length], [data.length, 0]] as const) {
      // Compared by hash: a deep equality over 200 KB is needlessly slow.
      expect(sha256Hex(await library.read(id, start, length))).toBe(sha256Hex(data.subarray(start, start + length)));
    }
    for (const [start, length] of [[data.length - 1, 2], [-1, 1], [0, -1], [0.5, 1]] as const) {
      await expect(library.read(id, start, length)).rejects.toSatisfy((e) => isLibraryError(e, 'OUT_OF_RANGE'));
    }
    await expect(library.read('0'.repeat(64), 0, 1)).rejects.toSatisfy((e) => isLibraryError(e, 'NOT_SHARED'));
    await expect(library.leaves('0'.repeat(64))).rejects.toSatisfy((e) => isLibraryError(e, 'NOT_SHARED'));
  });

  it('refuses to read a file that changed since it was hashed', async () => {
    const { dir, shared } = await setup({ 'grow.bin': 'abc' });
    const library = await openLibrary(dir);
    await library.start();
    await appendFile(join(shared, 'grow.bin'), 'def');
    await expect(library.read(sha256Hex('abc'), 0, 3)).rejects.toSatisfy((e) => isLibraryError(e, 'CHANGED_ON_DISK'));
    await nextEvent(library, 'added', (f) => f.fileId === sha256Hex('abcdef'));
    expect(library.list().map((f) => f.fileId)).toEqual([sha256Hex('abcdef')]);
  });

  it('shares the same content under two names once, under the first name, and keeps it while a copy is left', async () => {
    const data = randomBytes(3000);
    const { dir, shared } = await setup({ 'first.bin': data });
    const library = await openLibrary(dir);
    await library.start();
    await copyFile(join(shared, 'first.bin'), join(shared, 'second.bin'));
    const viaSecond = await library.addFile(join(shared, 'second.bin'));
    expect(viaSecond.name).toBe('first.bin');
    expect(library.list()).toHaveLength(1);

    const removed: LocalFile[] = [];
    library.on('removed', (f) => removed.push(f));
    await rm(join(shared, 'first.bin'));
    await until(() => library.get(sha256Hex(data))?.name === 'second.bin', 'the copy to take over');
    expect(removed).toEqual([]);
    expect(sha256Hex(await library.read(sha256Hex(data), 0, data.length))).toBe(sha256Hex(data));
  });

  it('unshares a file deleted from disk', async () => {
    const { dir, shared } = await setup({ 'gone.txt': 'bye' });
    const library = await openLibrary(dir);
    await library.start();
    const removed = nextEvent(library, 'removed');
    await rm(join(shared, 'gone.txt'));
    expect((await removed).fileId).toBe(sha256Hex('bye'));
    expect(library.list()).toEqual([]);
  });

  it('skips hidden files and sub-directories, and sanitises unsafe on-disk names in what it announces', async () => {
    const { dir, shared } = await setup({ '.hidden': 'h', 'bad\u0007na:me.txt': 'odd' });
    await mkdir(join(shared, 'sub'));
    await writeFile(join(shared, 'sub', 'inner.txt'), 'inner');
    const library = await openLibrary(dir);
    await library.start();
    const files = library.list();
    expect(files.map((f) => f.name)).toEqual(['badna_me.txt']);
    expect(new TextDecoder().decode(await library.read(files[0]!.fileId, 0, 3))).toBe('odd');
  });

  it('survives a damaged index by hashing again, and close is safe twice', async () => {
    const { dir } = await setup({ 'f.txt': 'data' });
    await writeFile(join(dir, 'library.json'), '{not json');
    const lines: Line[] = [];
    const library = await openLibrary(dir, lines);
    await library.start();
    expect(library.filesHashed).toBe(1);
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('index unreadable'))).toBe(true);
    await library.close();
    await library.close();
    await expect(library.read(sha256Hex('data'), 0, 1)).rejects.toSatisfy((e) => isLibraryError(e, 'CLOSED'));
    expect(JSON.parse(await readFile(join(dir, 'library.json'), 'utf8')).files).toHaveLength(1);
  });
});
