/**
 * Assembles the browser peer from the isomorphic core, as bootstrap-node/node.ts does for a node:
 * kind 'browser', no TCP, the native RTCPeerConnection and WebSocket, and every store in IndexedDB
 * (databases named after the tab's slot, see identity.browser.ts).
 */
import { BootstrapLink } from './bootstrap-link.ts';
import { openIdbChunkStore } from './chunk-store-idb.browser.ts';
import type { IdbChunkStore } from './chunk-store-idb.browser.ts';
import { defaultHashWorker, HashClient } from './hash-client.browser.ts';
import type { WorkerFactory } from './hash-client.browser.ts';
import { IdbAppendLog, IdbRecordStore, openIdbStore, tabDbName } from './idb.browser.ts';
import type { UseStore } from './idb.browser.ts';
import { claimTabSlot, loadOrCreateTabIdentity } from './identity.browser.ts';
import type { TabSlot } from './identity.browser.ts';
import { IdbLibrary } from './library-idb.browser.ts';
import { MessageHistory } from '../peer/message-history.ts';
import type { HistoryRecord } from '../peer/message-history.ts';
import { Messaging } from '../peer/messaging.ts';
import { Peer } from '../peer/peer.ts';
import { PeerRegistry } from '../peer/registry.ts';
import type { PersistedPeerRecord } from '../peer/registry.ts';
import { SignalRelay } from '../peer/signal-relay.ts';
import type { WebSocketConstructorLike } from '../peer/signalling/client.ts';
import { WebRtcLinker } from '../peer/webrtc-linker.ts';
import { createBrowserHasher } from '../transfer/hasher.browser.ts';
import type { TransferRecord } from '../transfer/transfer-record.ts';
import { TransferService } from '../transfer/transfer-service.ts';
import type { Logger } from '../util/logger.ts';
import { SaveCoalescer } from '../util/record-store.ts';
import { realTimers } from '../util/timers.ts';

/** A tab is a light peer: enough links for a swarm, few enough for a 2-core laptop's browser. */
export const DEFAULT_BROWSER_MAX_PEERS = 12;

export interface BrowserPeerOptions {
  /** The signalling endpoint to join (ws://host:port/signal): the serving node's by default. */
  bootstrapUrl: string;
  /** Shown to other peers; defaults to "browser <slot>". */
  name?: string;
  /** Makes the hashing worker; null hashes on the page (slower, the page may stutter). */
  createWorker?: WorkerFactory | null;
  iceServers?: RTCIceServer[];
  /** Tests: drop ICE candidates this returns false for (a second guard that keeps ICE on loopback). */
  candidateFilter?: (candidate: string) => boolean;
  maxPeers?: number;
  /** Where the runtime logs; the console by default. */
  log?: Logger;
}

export interface BrowserPeerParts {
  slot: TabSlot;
  peer: Peer;
  registry: PeerRegistry;
  history: MessageHistory;
  messaging: Messaging;
  library: IdbLibrary;
  transfers: TransferService;
  hashing: HashClient;
  bootstrap: BootstrapLink;
  linker: WebRtcLinker;
  /** The chunk database pieces are stored in. */
  piecesDbName: string;
  pieces: UseStore;
  /** Chunk stores opened in this run, by file id (for the chunk map). */
  openStores: Map<string, IdbChunkStore>;
  log: Logger;
  close(): Promise<void>;
}

/** Logs to the browser console in pino's call shape. */
export function consoleLogger(bindings: Record<string, unknown> = {}): Logger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: Record<string, unknown>, message: string) =>
    console[level](`[swarmdrop] ${message}`, { ...bindings, ...fields });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => consoleLogger({ ...bindings, ...more }) };
}

export async function assembleBrowserPeer(options: BrowserPeerOptions): Promise<BrowserPeerParts> {
  const log = options.log ?? consoleLogger();
  const slot = await claimTabSlot();
  const { identity, created } = await loadOrCreateTabIdentity(slot.slot);
  const name = options.name ?? `browser ${slot.slot}`;
  log.info({ peerId: identity.peerId, slot: slot.slot, created }, created ? 'created a tab identity' : 'loaded the tab identity');

  const state = openIdbStore(tabDbName(slot.slot, 'state'));
  const registry = new PeerRegistry();
  const peerStore = new IdbRecordStore<PersistedPeerRecord[]>(state, 'peers');
  registry.load((await peerStore.load()) ?? []);
  const peerSaver = new SaveCoalescer(peerStore, () => registry.toJSON(), {
    onError: (err) => log.error({ err }, 'could not save the peer list'),
  });
  registry.on('change', () => peerSaver.scheduleSave());

  const history = new MessageHistory({
    log: new IdbAppendLog<HistoryRecord>(openIdbStore(tabDbName(slot.slot, 'history'))),
    onPersistError: (err) => log.error({ err }, 'could not write the message history'),
  });
  await history.load();

  const peer = new Peer({ identity, kind: 'browser', name, registry, log, advertiseAddress: () => 'browser' });
  const messaging = new Messaging(peer, history, log);

  const piecesDbName = tabDbName(slot.slot, 'chunks');
  const pieces = openIdbStore(piecesDbName);
  const library = await IdbLibrary.open({ entries: openIdbStore(tabDbName(slot.slot, 'library')), pieces });
  const hashing = new HashClient(options.createWorker === undefined ? defaultHashWorker : options.createWorker);
  const hashStored = async (fileId: string, fileSize: number, chunkSize: number) =>
    hashing.run({ kind: 'stored', dbName: piecesDbName, fileId, fileSize, chunkSize, pieceCount: Math.max(1, Math.ceil(fileSize / chunkSize)) });
  const openStores = new Map<string, IdbChunkStore>();
  const transfers = new TransferService({
    peer,
    library,
    hasher: createBrowserHasher(),
    log,
    timers: realTimers,
    records: new IdbRecordStore<TransferRecord[]>(state, 'transfers'),
    openStore: async (fileId, fileSize, pieceSize) => {
      const store = await openIdbChunkStore({
        store: pieces,
        fileId,
        fileSize,
        chunkSize: pieceSize,
        // Only the whole-file hash, as pieces arrive: each piece was checked against its leaf then.
        runningHash: (step, transfer) =>
          hashing.run({ kind: 'running-file-id', dbName: piecesDbName, fileId, ...step }, undefined, transfer),
      });
      openStores.set(fileId, store);
      return store;
    },
    // The pieces stay where they are; the library serves the finished file from them.
    adopt: async (record, known) => {
      const hashes = known
        ? { fileId: known.fileId, size: record.file_size, chunkSize: known.chunkSize, leaves: known.leaves, root: known.root }
        : await hashStored(record.file_id, record.file_size, record.chunk_size);
      return library.add(record.file_name, hashes, null);
    },
  });
  await transfers.start();

  const linker = new WebRtcLinker({
    peer,
    RTCPeerConnection: globalThis.RTCPeerConnection,
    iceServers: options.iceServers ?? [],
    maxPeers: options.maxPeers ?? DEFAULT_BROWSER_MAX_PEERS,
    log,
    ...(options.candidateFilter && { candidateFilter: options.candidateFilter }),
  });
  const relay = new SignalRelay(peer, log);
  relay.on('learned', (via, peerId) => linker.seen(via, peerId));
  relay.on('signal', (via, from, data) => linker.signal(via, from, data));
  const bootstrap = new BootstrapLink({
    identity,
    name,
    linker,
    WebSocket: globalThis.WebSocket as unknown as WebSocketConstructorLike,
    log,
  });

  let closing: Promise<void> | undefined;
  return {
    slot, peer, registry, history, messaging, library, transfers, hashing, bootstrap, linker, piecesDbName, pieces, openStores, log,
    close() {
      closing ??= (async () => {
        await bootstrap.close();
        relay.close();
        linker.close();
        await transfers.close();
        await peer.close();
        library.close();
        hashing.close();
        registry.destroy();
        await peerSaver.flush();
        slot.release();
      })();
      return closing;
    },
  };
}
