import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type pino from 'pino';
import { isTokenFreeBind, loadOrCreateApiToken } from './api/access.ts';
import { buildApi } from './api/server.ts';
import type { NodeConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { attachSignalServer } from './signal-server.ts';
import { startWebRtc } from './webrtc-bootstrap.ts';
import type { ConnectionRole } from '../lib/peer/connection.ts';
import { loadOrCreateIdentity } from '../lib/peer/identity-store.node.ts';
import { MessageHistory } from '../lib/peer/message-history.ts';
import type { HistoryRecord } from '../lib/peer/message-history.ts';
import { Messaging } from '../lib/peer/messaging.ts';
import { Peer } from '../lib/peer/peer.ts';
import type { PeerOptions } from '../lib/peer/peer.ts';
import { PeerRegistry } from '../lib/peer/registry.ts';
import type { PersistedPeerRecord } from '../lib/peer/registry.ts';
import { useEd25519Crypto } from '../lib/peer/ed25519.ts';
import { nodeEd25519Crypto } from '../lib/peer/ed25519.node.ts';
import { dialTcp } from '../lib/peer/transport-tcp.node.ts';
import { listenTcp } from '../lib/peer/tcp-listener.node.ts';
import type { TcpListener } from '../lib/peer/tcp-listener.node.ts';
import type { Transport } from '../lib/peer/transport.ts';
import { openFsChunkStore } from '../lib/transfer/chunk-store-fs.node.ts';
import { nodeHasher } from '../lib/transfer/hasher.node.ts';
import { FsLibrary } from '../lib/transfer/library-fs.node.ts';
import type { TransferRecord } from '../lib/transfer/transfer-record.ts';
import { TransferService } from '../lib/transfer/transfer-service.ts';
import { JsonlAppendLog } from '../lib/util/append-log.node.ts';
import { realTimers } from '../lib/util/timers.ts';
import { FinishingDownloadStore } from './download-store.ts';
import { canDropCachedPages } from '../lib/transfer/page-cache.node.ts';
import { SaveCoalescer } from '../lib/util/record-store.ts';
import { JsonFileStore } from '../lib/util/record-store.node.ts';

/**
 * The headless node: one process that owns a data directory, listens for peers over TCP, and serves
 * the REST API. Everything it keeps lives under `config.dir`.
 */
export interface RunningNode {
  readonly config: NodeConfig;
  readonly dir: string;
  readonly log: pino.Logger;
  readonly peer: Peer;
  readonly messaging: Messaging;
  readonly history: MessageHistory;
  readonly registry: PeerRegistry;
  readonly library: FsLibrary;
  readonly transfers: TransferService;
  /** The TCP peer port; 0 with --no-tcp (no listener), as /api/status reports it. */
  readonly tcpPort: number;
  /** This node's signalling endpoint (ws://…/signal). */
  readonly signalUrl: string;
  readonly apiPort: number;
  readonly apiUrl: string;
  /** The bearer token the REST API requires (bound off loopback), else null. */
  readonly apiToken: string | null;
  /** True when the token was made by this start: the CLI prints it this once. */
  readonly apiTokenCreated: boolean;
  close(): Promise<void>;
}

/** With --no-reshare, finished downloads go here instead of shared_files/. */
export const DOWNLOADS_DIR_NAME = 'downloads';

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * The address we announce in a handshake. The reference peer, as dialler, drops the connection when the
 * response advertises the very address it dialled, so an acceptor never answers a TCP dial with the
 * address the remote reached it on: it names the host instead ("localhost" on loopback). Over WebRTC
 * (no reference peer there) the address is announced as it is: peer exchange passes it on as where
 * this node takes TCP.
 */
export function advertiseRule(configured: string | undefined) {
  const announced = configured ?? hostname();
  return (transport: Transport, role: ConnectionRole): string => {
    const dialledAddress = transport.localAddress;
    if (transport.kind === 'tcp' && role === 'acceptor' && dialledAddress && announced === dialledAddress) {
      return LOOPBACK.test(dialledAddress) ? 'localhost' : hostname();
    }
    return announced;
  };
}

export interface StartOptions {
  /** A logger to use instead of the one made from the config (tests keep lines in memory). */
  log?: pino.Logger;
  /** Shorter ping/idle/handshake timings, for tests only: the standard values are the protocol's. */
  connectionTimings?: PeerOptions['connectionTimings'];
  /** false: no WebRTC side (the node neither joins its own endpoint nor links to anyone); for tests of the endpoint alone. */
  webrtc?: boolean;
  /** The dashboard's static export to serve at `/` (tests point it at a temp dir); the repository's out/ by default. */
  webRoot?: string;
}

export async function startNode(config: NodeConfig, options: StartOptions = {}): Promise<RunningNode> {
  // Signatures on the main thread, not queued on libuv's pool behind file writes (ed25519.ts).
  useEd25519Crypto(nodeEd25519Crypto);
  const dir = resolve(config.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const log =
    options.log ?? createLogger({ dir, level: config.logLevel, stdout: config.logToStdout });

  const { identity, created } = await loadOrCreateIdentity(dir);
  log.info({ peerId: identity.peerId, created, dir }, created ? 'created a new identity' : 'loaded identity');
  if (process.platform === 'linux' && !canDropCachedPages) {
    log.warn({}, 'the page-cache addon is not built: downloads keep every written page cached (node scripts/build-native.mjs builds it)');
  }
  // Bound anywhere but this machine's own loopback, others may reach the API: it then requires a token
  // (access.ts). Read before anything starts, so a damaged token file stops the node cleanly.
  const loopbackOnly = isTokenFreeBind(config.apiHost);
  const apiToken = loopbackOnly ? null : await loadOrCreateApiToken(dir);

  const registry = new PeerRegistry();
  const peerStore = new JsonFileStore<PersistedPeerRecord[]>(join(dir, 'peers.json'));
  registry.load((await peerStore.load()) ?? []);
  const peerSaver = new SaveCoalescer(peerStore, () => registry.toJSON(), {
    onError: (err) => log.error({ err }, 'could not save the peer list'),
  });
  registry.on('change', () => peerSaver.scheduleSave());

  const history = new MessageHistory({
    log: new JsonlAppendLog<HistoryRecord>(join(dir, 'messages.jsonl'), {
      onBadLine: (line) => log.warn({ line }, 'skipped an unreadable line in messages.jsonl'),
    }),
    onPersistError: (err) => log.error({ err }, 'could not write the message history'),
  });
  await history.load();

  const peer = new Peer({
    identity,
    kind: 'node',
    name: config.name,
    registry,
    log,
    ...(!config.noTcp && { dial: (host: string, port: number) => dialTcp(host, port) }),
    advertiseAddress: advertiseRule(config.advertise),
    connectionTimings: options.connectionTimings,
    ...(config.allow.length > 0 && { allow: new Set(config.allow) }),
  });
  if (config.allow.length > 0) log.info({ allow: config.allow }, 'private swarm: only the listed peers are admitted');
  const messaging = new Messaging(peer, history, log);

  const library = await FsLibrary.open({ dir, log });
  const finishDir = config.noReshare ? join(dir, DOWNLOADS_DIR_NAME) : library.sharedDir;
  const transfers = new TransferService({
    peer,
    library,
    hasher: nodeHasher,
    log,
    timers: realTimers,
    records: new JsonFileStore<TransferRecord[]>(join(dir, 'transfers.json')),
    openStore: async (fileId, fileSize, pieceSize) =>
      new FinishingDownloadStore(await openFsChunkStore({ dataDir: dir, fileId, fileSize, chunkSize: pieceSize }), finishDir),
    // --no-reshare: a finished download stays out of the library, so it is neither announced nor served.
    adopt: async (record, known) => (config.noReshare ? undefined : library.addFile(record.destination!, { known })),
    reshare: !config.noReshare,
    uploadLimit: config.uploadLimit,
    downloadLimit: config.downloadLimit,
    stallTimeoutMs: config.stallTimeout * 1000,
  });
  // Indexing a large shared_files/ can take minutes: peers and the API are served meanwhile, and each
  // file is announced as soon as it is hashed (progress goes to the log).
  const indexing = library.start().catch((err) => log.error({ err }, 'indexing shared files failed'));
  await transfers.start();

  let listener: TcpListener | undefined;
  let api: FastifyInstance | undefined;
  try {
    if (!config.noTcp) {
      listener = await listenTcp(
        {
          host: config.host,
          port: config.port,
          onRefused: (remote, reason) => log.warn({ remote, reason }, 'refused a TCP connection'),
        },
        (transport) => peer.attach(transport, 'acceptor'),
      );
      peer.listenPort = listener.port;
    }
    api = await buildApi({
      peer,
      messaging,
      history,
      registry,
      library,
      transfers,
      dir,
      maxUploadBytes: config.maxUpload,
      log,
      access: { token: apiToken?.token ?? null, loopbackOnly },
      webRoot: options.webRoot,
    });
    await api.listen({ host: config.apiHost, port: config.apiPort });
  } catch (err) {
    await peer.close();
    await listener?.close();
    await api?.close();
    await transfers.close();
    await library.close();
    await indexing;
    throw err;
  }
  const signalServer = attachSignalServer(api.server, {
    log,
    // A private node's own endpoint admits itself and the listed peers only.
    ...(config.allow.length > 0 && { admit: (peerId: string) => peerId === peer.id || peer.admits(peerId) }),
  });
  const apiAddress = api.server.address();
  const apiPort = typeof apiAddress === 'object' && apiAddress ? apiAddress.port : config.apiPort;
  const apiUrl = `http://${config.apiHost.includes(':') ? `[${config.apiHost}]` : config.apiHost}:${apiPort}`;
  const tcpPort = listener?.port ?? 0;
  const signalUrl = `${apiUrl.replace(/^http/, 'ws')}/signal`;
  log.info({ peerId: identity.peerId, tcpPort, apiPort, apiUrl, signalUrl }, 'node is listening');

  const webrtc = options.webrtc === false ? null : await startWebRtc({ peer, config, ownSignalUrl: signalUrl, log });
  if (!config.noTcp) {
    for (const record of registry.list()) {
      if (record.dialable && record.address && record.port) peer.redial(record.address, record.port, record.peerId);
    }
  }
  for (const target of config.connect) {
    peer.connect(target.host, target.port).catch((err) => {
      log.warn({ target: `${target.host}:${target.port}`, reason: (err as Error).message }, 'could not connect');
    });
  }

  let closing: Promise<void> | undefined;
  const tcpListener = listener;
  const httpServer = api;
  return {
    config,
    dir,
    log,
    peer,
    messaging,
    history,
    registry,
    library,
    transfers,
    tcpPort,
    signalUrl,
    apiPort,
    apiUrl,
    apiToken: apiToken?.token ?? null,
    apiTokenCreated: apiToken?.created ?? false,
    close() {
      closing ??= (async () => {
        log.info({}, 'shutting down');
        await webrtc?.close();
        await signalServer.close();
        await httpServer.close();
        await transfers.close();
        messaging.close();
        await peer.close();
        await tcpListener?.close();
        await library.close();
        await indexing; // stops at the next file once the library is closed
        registry.destroy();
        // A failed save (a full disk) is logged; shutting down goes on.
        await peerSaver.flush().catch((err: Error) => log.error({ err }, 'could not save the peer list on close'));
        await new Promise<void>((done) => log.flush(() => done()));
      })();
      return closing;
    },
  };
}
