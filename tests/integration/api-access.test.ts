import { request } from 'node:http';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { API_TOKEN_FILE_NAME, isLoopbackHost, isTokenFreeBind } from '../../bootstrap-node/api/access.ts';
import { startNodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { makeTempDir, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/** A second loopback address: "not loopback-only" to the node's rules, still on this machine. */
const OTHER_ADDRESS = '127.0.0.2';

const nodes: TestNode[] = [];
const processes: NodeProcess[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGTERM')));
});
afterAll(removeTempDirs);

/** A raw HTTP request, so the test can set Host and Origin as a browser or an attacker would. */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      // Pages outside /api/ are the web app's HTML (its 404 page included): only JSON is parsed.
      const isJson = /json/.test(res.headers['content-type'] ?? '');
      res.on('end', () => resolve({ status: res.statusCode!, body: text && isJson ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function signalChallenge(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data) => {
      ws.close();
      resolve(JSON.parse(String(data)));
    });
    ws.once('error', reject);
  });
}

describe('isLoopbackHost', () => {
  it('knows loopback names and addresses from others', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '[::1]', '::1', 'app.localhost']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '127.example.com', 'localhost.example.com', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('lets only the usual loopback bind addresses go without a token', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) expect(isTokenFreeBind(host), host).toBe(true);
    for (const host of ['127.0.0.2', '0.0.0.0', '::', '192.168.1.2']) expect(isTokenFreeBind(host), host).toBe(false);
  });
});

describe('REST API bound to loopback (the default)', () => {
  it('needs no token and makes none', async () => {
    const node = await startTestNode();
    nodes.push(node);
    expect(node.config.apiHost).toBe('127.0.0.1');
    expect(node.apiToken).toBeNull();
    await expect(stat(join(node.dir, API_TOKEN_FILE_NAME))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await rawRequest(`${node.apiUrl}/api/status`)).status).toBe(200);
  });

  it('refuses a request addressed to a non-loopback host name (DNS rebinding)', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const port = node.apiPort;
    const rebound = await rawRequest(`${node.apiUrl}/api/status`, { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.body.detail).toMatch(/loopback host/);
    expect((await rawRequest(`${node.apiUrl}/api/status`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    await node.waitForLog((l) => l.msg === 'refused an API request' && /loopback host/.test(String(l.reason)));
  });

  it('allows the node own origin and refuses any other (CORS), before acting on the request', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const host = `127.0.0.1:${node.apiPort}`;
    const body = JSON.stringify({ text: 'from a foreign page' });
    const json = { 'content-type': 'application/json', host };
    const foreign = await rawRequest(`${node.apiUrl}/api/messages`, { method: 'POST', body, headers: { ...json, origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.body.detail).toMatch(/cross-origin/);
    const opaque = await rawRequest(`${node.apiUrl}/api/messages`, { method: 'POST', body, headers: { ...json, origin: 'null' } });
    expect(opaque.status).toBe(403);
    const otherPort = await rawRequest(`${node.apiUrl}/api/status`, { headers: { host, origin: `http://127.0.0.1:${node.apiPort + 1}` } });
    expect(otherPort.status).toBe(403);
    const preflight = await rawRequest(`${node.apiUrl}/api/messages`, {
      method: 'OPTIONS',
      headers: { host, origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect((await node.api('/api/messages')).body.messages).toHaveLength(0); // nothing was sent
    const own = await rawRequest(`${node.apiUrl}/api/messages`, { method: 'POST', body, headers: { ...json, origin: `http://${host}` } });
    expect(own.status).toBe(200);
  });
});

describe(`REST API bound to ${OTHER_ADDRESS}`, () => {
  it('makes a token at first start (0600), requires it as a bearer token, and keeps it across restarts', async () => {
    const dir = await makeTempDir();
    const node = await startTestNode({ dir, apiHost: OTHER_ADDRESS });
    nodes.push(node);
    expect(node.apiUrl).toMatch(/^http:\/\/127\.0\.0\.2:/);
    expect(node.apiTokenCreated).toBe(true);
    const token = node.apiToken!;
    expect(token).toMatch(/^[\w-]{40,}$/);
    expect((await stat(join(dir, API_TOKEN_FILE_NAME))).mode & 0o777).toBe(0o600);

    const bare = await rawRequest(`${node.apiUrl}/api/status`);
    expect(bare.status).toBe(401);
    expect(bare.body.detail).toMatch(/Authorization: Bearer/);
    const wrong = await rawRequest(`${node.apiUrl}/api/status`, { headers: { authorization: `Bearer ${token.slice(1)}x` } });
    expect(wrong.status).toBe(401);
    expect((await rawRequest(`${node.apiUrl}/api/status`, { headers: { authorization: token } })).status).toBe(401);
    const post = await rawRequest(`${node.apiUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' });
    expect(post.status).toBe(401);
    const ok = await rawRequest(`${node.apiUrl}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.body.peer_id).toBe(node.peer.id);

    // Outside /api/ (the web app's page) no token is asked: the page talks to peers, not to the REST API.
    // (404: the export's not-found page; 503: the how-to-build page when out/ is not built yet.)
    expect([404, 503]).toContain((await rawRequest(`${node.apiUrl}/no-such-page`)).status);

    await node.close();
    nodes.pop();
    const again = await startTestNode({ dir, apiHost: OTHER_ADDRESS });
    nodes.push(again);
    expect(again.apiToken).toBe(token);
    expect(again.apiTokenCreated).toBe(false);
    expect((await again.api('/api/status')).status).toBe(200); // the helper sends the token
  });

  it('refuses to start on a damaged token file instead of making a new token silently', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, API_TOKEN_FILE_NAME), '{"token": 42}\n');
    await expect(startTestNode({ dir, apiHost: OTHER_ADDRESS })).rejects.toThrow(/no usable API token; delete it/);
  });

  it('keeps /signal open to peers without the token: they prove their identity when joining', async () => {
    const node = await startTestNode({ apiHost: OTHER_ADDRESS });
    nodes.push(node);
    expect(node.signalUrl).toMatch(/^ws:\/\/127\.0\.0\.2:/);
    expect((await signalChallenge(node.signalUrl)).type).toBe('challenge');
  });

  it('checks the origin as well as the token', async () => {
    const node = await startTestNode({ apiHost: OTHER_ADDRESS });
    nodes.push(node);
    const auth = { authorization: `Bearer ${node.apiToken}` };
    expect((await rawRequest(`${node.apiUrl}/api/status`, { headers: { ...auth, origin: 'http://evil.example' } })).status).toBe(403);
    const own = new URL(node.apiUrl).origin;
    expect((await rawRequest(`${node.apiUrl}/api/status`, { headers: { ...auth, origin: own } })).status).toBe(200);
  });

  it('prints the token once, at the first start only (CLI)', async () => {
    const dir = await makeTempDir();
    const args = ['--dir', dir, '--api-host', OTHER_ADDRESS];
    const first = await startNodeProcess(args);
    processes.push(first);
    const printed = await waitFor(() => /Bearer (\S+)/.exec(first.stdout), 10_000, 'the printed token');
    expect(first.stdout).toContain(`The dashboard at ${first.apiUrl}/ needs no token`);
    expect(first.lines.some((l) => JSON.stringify(l).includes(printed[1]!))).toBe(false); // never in a log line
    await first.kill('SIGTERM');
    processes.pop();
    const second = await startNodeProcess(args);
    processes.push(second);
    expect((await rawRequest(`${second.apiUrl}/api/status`, { headers: { authorization: `Bearer ${printed[1]}` } })).status).toBe(200);
    expect(second.stdout).not.toContain('Bearer');
  });
});
