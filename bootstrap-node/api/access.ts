import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readJsonFile, writeJsonExclusive } from '../../lib/util/json-file.node.ts';

/**
 * Who may use the node's HTTP server.
 *
 * - Bound to 127.0.0.1, ::1 or localhost (the default is 127.0.0.1), the REST API needs no token: only this machine can reach it. A
 *   request must still name a loopback host (`Host: localhost:8000`, `127.0.0.1:8000`, `[::1]:8000`),
 *   so a web page whose domain re-resolves to 127.0.0.1 (DNS rebinding) cannot reach the API.
 * - Bound to any other address, even another loopback one such as 127.0.0.2 (a machine may route
 *   those elsewhere, e.g. into containers), every `/api/` request needs `Authorization: Bearer <token>`. The token
 *   is made at first start and kept in `<dir>/api-token.json` (mode 0600).
 * - Either way, a request that carries an `Origin` other than the node's own (`http://<Host>`) is
 *   refused: browsers send `Origin` on every cross-origin request, and CORS allows only the node's own
 *   page, which is same-origin and needs no CORS headers at all.
 *
 * The web app at `/` carries no secret and is served to anyone who can reach the port; on a
 * non-loopback address it takes the token from its URL fragment (`/#token=...`), which browsers never
 * send to a server. `/signal` is not here: it is open to every peer, which proves its identity when it
 * joins and is rate-limited there (signal-server.ts).
 */

export const API_TOKEN_FILE_NAME = 'api-token.json';
/** 32 random bytes: far beyond guessing, and short enough to paste. */
const API_TOKEN_BYTES = 32;
/** Owner read/write only: the token is a password. */
const API_TOKEN_FILE_MODE = 0o600;
const API_PATH_PREFIX = '/api/';

export interface ApiAccess {
  /** Required bearer token for /api/, or null when the server is bound to loopback only. */
  token: string | null;
  /** Bound to 127.0.0.1/::1/localhost without a token: requests must name a loopback host. */
  loopbackOnly: boolean;
}

/** The bind addresses that need no token: the usual names of this machine's own loopback. */
export function isTokenFreeBind(apiHost: string): boolean {
  return ['127.0.0.1', '::1', '[::1]', 'localhost'].includes(apiHost.toLowerCase());
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}

/** The API token of this data directory, made (and `created: true`) the first time. */
export async function loadOrCreateApiToken(dir: string): Promise<{ token: string; created: boolean }> {
  const path = join(dir, API_TOKEN_FILE_NAME);
  const existing = await readToken(path);
  if (existing) return { token: existing, created: false };
  const token = randomBytes(API_TOKEN_BYTES).toString('base64url');
  if (await writeJsonExclusive(path, { token }, API_TOKEN_FILE_MODE)) return { token, created: true };
  const raced = await readToken(path); // another process made it first: theirs wins
  if (!raced) throw new Error(`${path} appeared and vanished while creating the API token`);
  return { token: raced, created: false };
}

async function readToken(path: string): Promise<string | undefined> {
  const json = await readJsonFile<{ token?: unknown }>(path);
  if (json === undefined) return undefined;
  if (typeof json.token !== 'string' || json.token.length < 16) {
    throw new Error(`${path} holds no usable API token; delete it to make a new one`);
  }
  return json.token;
}

export function installAccessControl(app: FastifyInstance, access: ApiAccess): void {
  const expected = access.token === null ? null : digest(access.token);
  app.addHook('onRequest', async (request, reply) => {
    const refusal = refusalOf(request, access.loopbackOnly, expected);
    if (refusal) {
      request.log.warn({ reason: refusal.detail, url: request.url }, 'refused an API request');
      return reply.status(refusal.status).header('cache-control', 'no-store').send({ detail: refusal.detail });
    }
  });
}

function refusalOf(request: FastifyRequest, loopbackOnly: boolean, expected: Buffer | null): { status: number; detail: string } | null {
  const host = request.headers.host ?? '';
  if (loopbackOnly && !isLoopbackHost(hostName(host))) {
    return { status: 403, detail: `this node's API answers only requests addressed to a loopback host, not "${host.slice(0, 100)}"` };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return { status: 403, detail: `cross-origin requests are refused (Origin ${origin.slice(0, 100)}); use the node's own page` };
  }
  if (expected && request.url.startsWith(API_PATH_PREFIX)) {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer +(\S+)$/i.exec(header);
    if (!match) return { status: 401, detail: 'this node requires "Authorization: Bearer <token>" (the token is in <dir>/api-token.json)' };
    if (!timingSafeEqual(digest(match[1]!), expected)) return { status: 401, detail: 'wrong API token' };
  }
  return null;
}

/** Compare digests, not the strings: equal lengths, so the comparison time says nothing about the token. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** "localhost:8000" → "localhost", "[::1]:8000" → "[::1]". */
function hostName(host: string): string {
  const bracketed = /^(\[[^\]]*\])(?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!;
  return host.replace(/:\d+$/, '');
}
