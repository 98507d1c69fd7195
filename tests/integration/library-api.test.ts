import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../bootstrap-node/api/http-errors.ts';
import { registerLibraryRoutes } from '../../bootstrap-node/api/library-routes.ts';
import { FsLibrary } from '../../lib/transfer/library-fs.node.ts';
import { validateStandardManifest } from '../../lib/transfer/manifest.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { sha256Hex } from '../support/files.ts';

const PEER_ID = 'test-peer-id';
const MAX_UPLOAD_BYTES = 24 * 1024 * 1024;
const SMALL_LIMIT_BYTES = 1024 * 1024;

interface Server {
  app: FastifyInstance;
  library: FsLibrary;
  dir: string;
  shared: string;
  url: string;
}

const cleanups: Array<() => Promise<void>> = [];

async function startServer(maxUploadBytes: number): Promise<Server> {
  const root = await mkdtemp(join(tmpdir(), 'swarmdrop-library-api-'));
  // The node's dir is one level down, so "outside the dir" is a place the test can look at.
  const dir = join(root, 'node');
  await mkdir(dir);
  const library = await FsLibrary.open({ dir, settleMs: 200 });
  await library.start();
  const app = Fastify();
  installErrorHandler(app);
  registerLibraryRoutes(app, { library, dir, maxUploadBytes, peerId: PEER_ID, log: silentLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  cleanups.push(async () => {
    await app.close();
    await library.close();
    await rm(root, { recursive: true, force: true });
  });
  return { app, library, dir, shared: join(dir, 'shared_files'), url: `http://127.0.0.1:${port}` };
}

function uploadForm(data: Uint8Array, name: string, field = 'file'): FormData {
  const form = new FormData();
  // A copy typed over a plain ArrayBuffer, as Blob's types ask.
  form.append(field, new Blob([new Uint8Array(data)]), name);
  return form;
}

/** A multipart body written by hand, so a file name reaches the server exactly as given (no client escaping). */
function rawMultipart(fileName: string, data: Uint8Array): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const boundary = `----swarmdrop${randomBytes(8).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body: new Uint8Array(body), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function listDir(path: string): Promise<string[]> {
  return existsSync(path) ? (await readdir(path)).sort() : [];
}

let server: Server;
let small: Server;

beforeAll(async () => {
  server = await startServer(MAX_UPLOAD_BYTES);
  small = await startServer(SMALL_LIMIT_BYTES);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('POST /api/files/upload', () => {
  it('streams a 20 MB upload into shared_files and answers its standard manifest', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const response = await fetch(`${server.url}/api/files/upload`, { method: 'POST', body: uploadForm(data, 'video.mp4') });
    expect(response.status).toBe(200);
    const { file } = (await response.json()) as { file: Record<string, unknown> };
    expect(file).toEqual({
      file_id: sha256Hex(data),
      file_name: 'video.mp4',
      file_size: data.length,
      chunk_size: 65536,
      chunk_count: 320,
      checksum: sha256Hex(data),
      owner: PEER_ID,
    });
    expect(validateStandardManifest(file).ok).toBe(true);
    expect(sha256Hex(await readFile(join(server.shared, 'video.mp4')))).toBe(sha256Hex(data));
    expect(server.library.get(sha256Hex(data))?.name).toBe('video.mp4');
    expect(await listDir(join(server.dir, '.uploads'))).toEqual([]);

    // The same name again is kept apart, not overwritten.
    const other = randomBytes(1000);
    const second = await fetch(`${server.url}/api/files/upload`, { method: 'POST', body: uploadForm(other, 'video.mp4') });
    expect(((await second.json()) as { file: { file_name: string } }).file.file_name).toBe('video (1).mp4');
    expect(sha256Hex(await readFile(join(server.shared, 'video.mp4')))).toBe(sha256Hex(data));
  });

  it('answers 413 over the --max-upload limit and leaves no part file behind', async () => {
    const before = await listDir(small.shared);
    const response = await fetch(`${small.url}/api/files/upload`, {
      method: 'POST',
      body: uploadForm(randomBytes(SMALL_LIMIT_BYTES + 1), 'too-big.bin'),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      detail: `upload is larger than the --max-upload limit of ${SMALL_LIMIT_BYTES} bytes`,
    });
    expect(await listDir(join(small.dir, '.uploads'))).toEqual([]);
    expect(await listDir(small.shared)).toEqual(before);

    const exact = await fetch(`${small.url}/api/files/upload`, {
      method: 'POST',
      body: uploadForm(randomBytes(SMALL_LIMIT_BYTES), 'just-fits.bin'),
    });
    expect(exact.status).toBe(200);
  });

  it('answers 400 when there is no file field', async () => {
    const textOnly = new FormData();
    textOnly.append('file', 'just text, not a file');
    const cases: Array<{ body: BodyInit; headers?: Record<string, string> }> = [
      { body: textOnly },
      { body: uploadForm(randomBytes(10), 'a.bin', 'upload') },
      { body: JSON.stringify({ file: 'x' }), headers: { 'content-type': 'application/json' } },
    ];
    for (const { body, headers } of cases) {
      const response = await fetch(`${server.url}/api/files/upload`, { method: 'POST', body, headers });
      expect(response.status).toBe(400);
      expect(typeof ((await response.json()) as { detail: unknown }).detail).toBe('string');
    }
  });

  it('lands hostile file names inside shared_files under safe names', async () => {
    const outside = await listDir(join(server.dir, '..'));
    const hostile = ['../../etc/passwd', '/abs/name', 'a\u0000b', 'x'.repeat(300), '..', 'CON', '.hidden'];
    for (const name of hostile) {
      const { body, contentType } = rawMultipart(name, Buffer.from(`content of ${JSON.stringify(name)}`));
      const response = await fetch(`${server.url}/api/files/upload`, {
        method: 'POST',
        body,
        headers: { 'content-type': contentType },
      });
      expect(response.status, name).toBe(200);
      const { file } = (await response.json()) as { file: { file_name: string; file_id: string } };
      const onDisk = await listDir(server.shared);
      expect(onDisk, name).toContain(file.file_name);
      expect(file.file_name).not.toMatch(/[/\\\u0000]|^\./);
      expect(Buffer.byteLength(file.file_name)).toBeLessThanOrEqual(200);
      expect(server.library.get(file.file_id)?.name).toBe(file.file_name);
    }
    expect(await listDir(join(server.dir, '..'))).toEqual(outside);
    expect(await listDir(join(server.dir, '.uploads'))).toEqual([]);
  });
});

describe('DELETE /api/files/:fileId', () => {
  it('unshares (keeping the file), then answers 404 the second time', async () => {
    const data = randomBytes(5000);
    await fetch(`${server.url}/api/files/upload`, { method: 'POST', body: uploadForm(data, 'keep.bin') });
    const id = sha256Hex(data);
    const first = await fetch(`${server.url}/api/files/${id}`, { method: 'DELETE' });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: 'removed', file_id: id });
    expect(server.library.get(id)).toBeUndefined();
    expect(existsSync(join(server.shared, 'keep.bin'))).toBe(true);

    const second = await fetch(`${server.url}/api/files/${id}`, { method: 'DELETE' });
    expect(second.status).toBe(404);
    expect(((await second.json()) as { detail: string }).detail).toContain(id);
  });

  it('removes the file from disk with ?delete=true, and rejects a bad query', async () => {
    const data = randomBytes(5000);
    await fetch(`${server.url}/api/files/upload`, { method: 'POST', body: uploadForm(data, 'drop.bin') });
    const id = sha256Hex(data);
    const bad = await fetch(`${server.url}/api/files/${id}?delete=maybe`, { method: 'DELETE' });
    expect(bad.status).toBe(400);
    const response = await fetch(`${server.url}/api/files/${id}?delete=true`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(existsSync(join(server.shared, 'drop.bin'))).toBe(false);
    expect(server.library.get(id)).toBeUndefined();
    expect((await fetch(`${server.url}/api/files/not-an-id`, { method: 'DELETE' })).status).toBe(404);
  });

  it('never deletes a file the index does not hold', async () => {
    const stray = join(server.shared, '.not-indexed');
    await writeFile(stray, 'kept');
    const id = sha256Hex(Buffer.from('kept'));
    expect((await fetch(`${server.url}/api/files/${id}?delete=true`, { method: 'DELETE' })).status).toBe(404);
    expect(existsSync(stray)).toBe(true);
  });
});
