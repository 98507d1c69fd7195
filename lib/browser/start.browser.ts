/**
 * The browser peer as the dashboard sees it (view.ts): starts the peer in this tab, keeps a snapshot
 * of everything the UI renders, and carries out the UI's actions. The UI never holds protocol state.
 *
 *   import { startBrowserPeer } from '../lib/browser/start.browser.ts';
 *   const source = await startBrowserPeer({ bootstrapUrl: 'ws://127.0.0.1:8000/signal' });
 *   useSyncExternalStore(source.subscribe, source.getSnapshot);
 */
import { assembleBrowserPeer } from './peer-runtime.browser.ts';
import type { BrowserPeerOptions } from './peer-runtime.browser.ts';
import { isQuotaError } from './chunk-store-idb.browser.ts';
import { Notices } from './notices.ts';
import { defaultSaveMethod, saveFile } from './save.browser.ts';
import type { SaveMethod } from './save.browser.ts';
import { SnapshotKeeper } from './snapshot.browser.ts';
import type { DashboardSource } from './view.ts';
import { DEFAULT_CHUNK_SIZE } from '../transfer/manifest.ts';
import { isActive } from '../transfer/transfer-record.ts';

export type { BrowserPeerOptions } from './peer-runtime.browser.ts';

export interface StartBrowserPeerOptions extends BrowserPeerOptions {
  /** How saveToDisk writes: a file picker (streamed) where the browser has one, else a download link. */
  saveMethod?: SaveMethod;
}

const BOOTSTRAP_NOTICE = 'bootstrap';

/**
 * One peer per page: a second call (React's strict mode runs effects twice) gets the running peer
 * instead of claiming a second tab slot, i.e. a second identity. After `close()` a call starts anew.
 */
let running: Promise<DashboardSource> | null = null;

export function startBrowserPeer(options: StartBrowserPeerOptions): Promise<DashboardSource> {
  running ??= start(options).catch((err: unknown) => {
    running = null;
    throw err;
  });
  return running;
}

async function start(options: StartBrowserPeerOptions): Promise<DashboardSource> {
  const parts = await assembleBrowserPeer(options);
  const { peer, messaging, library, transfers, bootstrap, hashing } = parts;
  const keeper = new SnapshotKeeper(parts);
  const notices = new Notices(() => keeper.changed());
  keeper.notices = notices;

  // Ask to keep our IndexedDB through storage pressure; the answer is shown, nothing depends on it.
  void (async () => {
    const storage = navigator.storage;
    keeper.storagePersisted = storage?.persist ? await storage.persist().catch(() => false) : null;
    await keeper.refreshStorage();
  })();

  bootstrap.on('change', () => {
    if (bootstrap.state === 'unreachable' && bootstrap.error) notices.show(BOOTSTRAP_NOTICE, 'error', bootstrap.error);
    if (bootstrap.state === 'joined') notices.clear(BOOTSTRAP_NOTICE);
    keeper.changed();
  });
  peer.on('peer:disconnected', (peerId) => {
    const name = peer.registry.get(peerId)?.name ?? peerId.slice(0, 12);
    const downloading = transfers.list().some((t) => isActive(t) && !t.paused && transfers.peers(t.transfer_id).some((p) => p.peer_id === peerId));
    notices.show(
      `peer-gone:${peerId}`,
      downloading ? 'warning' : 'info',
      downloading
        ? `${name} left the swarm. Your download goes on from the other peers that have the file; if none has the rest, it waits until one comes back.`
        : `${name} left the swarm. Messages to it cannot be delivered until it comes back.`,
    );
  });
  peer.on('peer:connected', (remote) => notices.clear(`peer-gone:${remote.peerId}`));
  transfers.on('change', (record) => {
    if (record.status === 'failed' && record.error) {
      notices.show(`transfer:${record.transfer_id}`, 'error', `${record.file_name}: ${keeper.transferError(record.error)}`);
    }
  });

  const saveMethod = options.saveMethod ?? defaultSaveMethod();
  const reportFailure = (key: string, what: string) => (err: unknown) => {
    const text = isQuotaError(err)
      ? `${what}: the browser ran out of storage for this site. Remove files you no longer need, or allow the site more storage, and try again.`
      : `${what}: ${err instanceof Error ? err.message : String(err)}`;
    notices.show(key, 'error', text);
    throw err;
  };
  const transferOrThrow = (transferId: string) => {
    const record = transfers.get(transferId);
    if (!record) throw new Error(`no transfer ${transferId}`);
    return record;
  };

  // Leaving (closing or reloading the tab) closes every link with its close marker, so peers see
  // us gone at once instead of after the link's disconnect grace, and relink quickly to a reload.
  const leave = () => {
    for (const connection of peer.primaryConnections()) connection.close();
  };
  globalThis.addEventListener?.('pagehide', leave);

  await bootstrap.use(options.bootstrapUrl);

  return {
    getSnapshot: () => keeper.snapshot(),
    subscribe: (onChange) => keeper.subscribe(onChange),
    close: async () => {
      running = null;
      globalThis.removeEventListener?.('pagehide', leave);
      keeper.close();
      await parts.close();
    },
    dismissNotice: (id) => notices.dismiss(id),

    async sendMessage(text, to) {
      await messaging.send(text, to).catch(reportFailure('chat', 'The message was not sent'));
    },
    async connectPeer(peerId) {
      const client = bootstrap.client;
      if (!client) throw new Error('not joined to a bootstrap node: connect once it is reachable again');
      parts.linker.seen(client, peerId);
    },
    async disconnectPeer(peerId) {
      for (const connection of peer.connectionsTo(peerId)) connection.close();
    },
    async shareFiles(files) {
      await Promise.all(
        files.map(async (file) => {
          const key = keeper.startHashing(file);
          try {
            const hashes = await hashing.run({ kind: 'blob', blob: file, chunkSize: DEFAULT_CHUNK_SIZE }, (done, total) =>
              keeper.hashProgress(key, total > 0 ? done / total : 1),
            );
            await library.add(file.name, hashes, file);
            keeper.endHashing(key, null);
          } catch (err) {
            keeper.endHashing(key, err instanceof Error ? err.message : String(err));
            reportFailure(`share:${key}`, `${file.name} could not be shared`)(err);
          }
        }),
      );
    },
    async unshare(fileId) {
      if (keeper.dismissHashing(fileId)) return;
      await library.remove(fileId);
    },
    async download(fileId) {
      await transfers.download(fileId).catch(reportFailure(`download:${fileId}`, 'The download could not start'));
    },
    async pause(transferId) {
      await transfers.pause(transferOrThrow(transferId).transfer_id);
    },
    async resume(transferId) {
      await transfers.resume(transferOrThrow(transferId).transfer_id);
    },
    async cancel(transferId) {
      await transfers.cancel(transferOrThrow(transferId).transfer_id);
    },
    async saveToDisk(transferId) {
      const record = transferOrThrow(transferId);
      const source = keeper.saveSource(record.file_id);
      if (record.status !== 'completed' || !source) throw new Error(`${record.file_name} is not complete`);
      await saveFile(record.file_name, source, saveMethod).catch(reportFailure(`save:${transferId}`, `${record.file_name} could not be saved`));
    },
    async setBootstrap(url) {
      await bootstrap.use(url);
    },
  };
}
