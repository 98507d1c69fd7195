import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Serves a browser test page from loopback without the Next.js app: `entry` bundled by esbuild at
 * /entry.js, the hashing worker bundled at the path its `new URL('./hash-worker.browser.ts',
 * import.meta.url)` resolves to from there, and an empty page that loads the entry.
 */
const WORKER_ENTRY = fileURLToPath(new URL('../../lib/browser/hash-worker.browser.ts', import.meta.url));

export interface BundleServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The test page. */
  pageUrl: string;
  close(): Promise<void>;
}

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function serveBrowserBundle(entry: string): Promise<BundleServer> {
  const [page, worker] = await Promise.all([bundle(entry), bundle(WORKER_ENTRY)]);
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>swarmdrop test</title><script type="module" src="/entry.js"></script>' },
    '/entry.js': { type: 'text/javascript', body: page },
    '/hash-worker.browser.ts': { type: 'text/javascript', body: worker },
    '/favicon.ico': { type: 'image/x-icon', body: '' },
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl: `${origin}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
