import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type pino from 'pino';
import { installAccessControl } from './access.ts';
import type { ApiAccess } from './access.ts';
import { installErrorHandler } from './http-errors.ts';
import { registerLibraryRoutes } from './library-routes.ts';
import { registerMessageRoutes } from './messages.ts';
import { registerPeerRoutes } from './peers.ts';
import { registerStatusRoutes } from './status.ts';
import { registerTransferRoutes } from './transfer-routes.ts';
import { registerWebApp } from './web-app.ts';
import type { MessageHistory } from '../../lib/peer/message-history.ts';
import type { Messaging } from '../../lib/peer/messaging.ts';
import type { Peer } from '../../lib/peer/peer.ts';
import type { PeerRegistry } from '../../lib/peer/registry.ts';
import type { FsLibrary } from '../../lib/transfer/library-fs.node.ts';
import type { TransferService } from '../../lib/transfer/transfer-service.ts';

/** What the routes read and act on. */
export interface ApiContext {
  peer: Peer;
  messaging: Messaging;
  history: MessageHistory;
  registry: PeerRegistry;
  library: FsLibrary;
  transfers: TransferService;
  dir: string;
  maxUploadBytes: number;
  log: pino.Logger;
  /** Where the dashboard's static export is (web-app.ts); the repository's out/ by default. */
  webRoot?: string;
  /** Who may call: a token off loopback, same-origin only (access.ts). */
  access: ApiAccess;
}

/** Largest JSON body we accept: a 10,000-character text plus envelope is far below this. */
const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApi(ctx: ApiContext): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines are info level; a node's log should carry peers' events, not every poll of
    // the dashboard, so the HTTP child logs warnings and errors only.
    loggerInstance: ctx.log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
  });
  installErrorHandler(app);
  installAccessControl(app, ctx.access);
  registerStatusRoutes(app, ctx);
  registerPeerRoutes(app, ctx);
  registerMessageRoutes(app, ctx);
  registerLibraryRoutes(app, { ...ctx, peerId: ctx.peer.id });
  registerTransferRoutes(app, { ...ctx, peerId: ctx.peer.id });
  registerWebApp(app, { root: ctx.webRoot, log: ctx.log });
  await app.ready();
  return app;
}
