import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pino from 'pino';

/**
 * Serves the dashboard's static export (`npm run build:app` writes it to out/ at the repository root)
 * at `/` on the API port, so one process is the whole set-up: node, REST API, signalling and web app.
 * Paths under /api/ and /signal stay the API's (their 404s keep the API's JSON shape). A request
 * never leaves the export directory, symlinks included. When the export is missing the node still
 * runs and `/` says how to build it; the check is made per request, so building later needs no restart.
 */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../out/', import.meta.url));

/** Prefixes that belong to the API and signalling, never to files of the export. */
const RESERVED_PREFIXES = ['/api/', '/signal'];

/** Next's build output under /_next/static/ carries a content hash in its path: it never changes. */
const IMMUTABLE_PREFIX = '/_next/static/';
const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Pages and route payloads change with each build: always revalidate (cheap, with the ETag). */
const REVALIDATE_CACHE = 'no-cache';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // Next's route payloads (React server component data) for client-side navigation.
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

export interface WebAppOptions {
  /** The export directory; the repository's out/ by default. */
  root?: string;
  log: pino.Logger;
}

export function registerWebApp(app: FastifyInstance, { root = DEFAULT_WEB_ROOT, log }: WebAppOptions): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const pathname = decodedPathname(request.url);
    if (pathname === null)
      return reply
        .status(400)
        .type(CONTENT_TYPES['.html']!)
        .send(page('Bad address', 'That address could not be read.'));
    if (
      pathname === '/api' ||
      pathname === '/signal' ||
      RESERVED_PREFIXES.some((prefix) => pathname.startsWith(prefix))
    ) {
      return reply.callNotFound();
    }
    const realRoot = await realpath(root).catch(() => null);
    if (realRoot === null || !(await isFile(join(realRoot, 'index.html')))) return sendNotBuilt(reply, root);

    const found = await findFile(realRoot, pathname);
    if (found)
      return sendFile(request, reply, found.path, found.stats, pathname.startsWith(IMMUTABLE_PREFIX));
    const notFoundPage = join(realRoot, '404.html');
    const notFoundStats = await isFile(notFoundPage);
    if (notFoundStats) return sendFile(request, reply.status(404), notFoundPage, notFoundStats, false);
    return reply
      .status(404)
      .type(CONTENT_TYPES['.html']!)
      .send(page('Not found', 'There is no page at this address.'));
  };
  app.get('/', handler);
  app.get('/*', handler);
  stat(join(root, 'index.html')).then(
    () => log.info({ root }, 'serving the web app'),
    () => log.warn({ root }, 'the web app is not built: run `npm run build:app`; / explains this meanwhile'),
  );
}

/** The URL's path, percent-decoded; null when it cannot be decoded or smuggles a NUL. */
function decodedPathname(url: string): string | null {
  const raw = url.split('?', 1)[0]!;
  try {
    const decoded = decodeURIComponent(raw);
    return decoded.includes('\0') || !decoded.startsWith('/') ? null : decoded;
  } catch {
    return null;
  }
}

/**
 * The file for a path: itself, or for a route `/x` or `/x/` the export's `x/index.html` or `x.html`.
 * Only regular files whose real path (symlinks followed) stays inside the root.
 */
async function findFile(realRoot: string, pathname: string): Promise<{ path: string; stats: Stats } | null> {
  const base = join(realRoot, pathname);
  const candidates = pathname.endsWith('/')
    ? [join(base, 'index.html')]
    : [base, join(base, 'index.html'), `${base}.html`];
  for (const candidate of candidates) {
    const real = await realpath(candidate).catch(() => null);
    if (real === null || !isInside(realRoot, real)) continue;
    const stats = await isFile(real);
    if (stats) return { path: real, stats };
  }
  return null;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

async function isFile(path: string): Promise<Stats | null> {
  const stats = await stat(path).catch(() => null);
  return stats?.isFile() ? stats : null;
}

function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  stats: Stats,
  immutable: boolean,
) {
  const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  reply
    .header('cache-control', immutable ? IMMUTABLE_CACHE : REVALIDATE_CACHE)
    .header('etag', etag)
    .header('last-modified', stats.mtime.toUTCString())
    .header('x-content-type-options', 'nosniff')
    .type(CONTENT_TYPES[extname(path).toLowerCase()] ?? FALLBACK_CONTENT_TYPE);
  if (reply.statusCode === 200 && request.headers['if-none-match'] === etag) return reply.status(304).send();
  reply.header('content-length', stats.size);
  return reply.send(createReadStream(path));
}

function sendNotBuilt(reply: FastifyReply, root: string) {
  return reply
    .status(503)
    .header('cache-control', 'no-store')
    .type(CONTENT_TYPES['.html']!)
    .send(
      page(
        'The web app is not built yet',
        `This node is running (its REST API is at <a href="/api/status">/api/status</a>), but the dashboard has not been built into <code>${escapeHtml(root)}</code>. ` +
          'Run <code>npm run build:app</code> in the swarmdrop folder (or restart with <code>npm start</code>, which builds it first), then reload this page.',
      ),
    );
}

/** A minimal page for the node's own answers (no build needed to show them). */
function page(title: string, bodyHtml: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>swarmdrop: ${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5"><h1>${escapeHtml(title)}</h1><p>${bodyHtml}</p></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
