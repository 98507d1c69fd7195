import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs, startTestNode } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/** The node serves the dashboard's static export at `/` beside the API (bootstrap-node/api/web-app.ts). */
describe('web app served by the node', () => {
  let node: TestNode;
  let root: string;
  let secretDir: string;

  beforeAll(async () => {
    root = await makeTempDir('swarmdrop-web-');
    secretDir = await makeTempDir('swarmdrop-secret-');
    await writeFile(join(secretDir, 'secret.txt'), 'outside the export');
    await writeFile(join(root, 'index.html'), '<!doctype html><title>home</title>');
    await writeFile(join(root, '404.html'), '<!doctype html><title>missing</title>');
    await mkdir(join(root, 'settings'));
    await writeFile(join(root, 'settings', 'index.html'), '<!doctype html><title>settings</title>');
    await mkdir(join(root, '_next', 'static', 'chunks'), { recursive: true });
    await writeFile(join(root, '_next', 'static', 'chunks', 'app-1234.js'), 'console.log(1)');
    await writeFile(join(root, 'index.txt'), 'payload');
    await symlink(join(secretDir, 'secret.txt'), join(root, 'escape.txt'));
    node = await startTestNode({}, { webrtc: false, webRoot: root });
  });
  afterAll(async () => {
    await node?.close();
    await removeTempDirs();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${node.apiUrl}${path}`, { headers });

  it('serves the page at / with its content type and a revalidating cache policy', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<title>home</title>');
  });

  it('answers HEAD with the headers only', async () => {
    const response = await fetch(`${node.apiUrl}/`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe('');
  });

  it('answers 304 to a matching ETag', async () => {
    const first = await get('/');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const second = await get('/', { 'if-none-match': etag! });
    expect(second.status).toBe(304);
  });

  it('marks hashed build assets immutable and types them', async () => {
    const response = await get('/_next/static/chunks/app-1234.js');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toContain('immutable');
  });

  it('resolves routes to their index.html, with or without the trailing slash', async () => {
    for (const path of ['/settings', '/settings/']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain('<title>settings</title>');
    }
  });

  it('answers unknown pages with the export 404 page and status 404', async () => {
    const response = await get('/no/such/page');
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('<title>missing</title>');
  });

  it('never serves a file outside the export directory', async () => {
    // Sent raw (fetch would normalise the dot segments away before they reach the node).
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/escape.txt',
      '/%00index.html',
    ]) {
      const response = await rawGet(node.apiPort, path);
      expect([400, 404], path).toContain(response.status);
      expect(response.body, path).not.toContain('outside the export');
    }
  });

  it('leaves /api/* to the API: an unknown endpoint keeps the JSON error shape', async () => {
    const status = await node.api('/api/status');
    expect(status.status).toBe(200);
    const missing = await node.api('/api/no-such-endpoint');
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toContain('no such endpoint');
  });
});

describe('web app not built', () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.close();
    await removeTempDirs();
  });

  it('keeps the node running and says at / how to build the app', async () => {
    const emptyRoot = await makeTempDir('swarmdrop-noweb-');
    node = await startTestNode({}, { webrtc: false, webRoot: join(emptyRoot, 'out') });
    const response = await fetch(`${node.apiUrl}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build:app');
    expect((await node.api('/api/status')).status).toBe(200);
    await node.waitForLog((line) => String(line.msg).includes('web app is not built'));
  });
});

function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
