'use client';
import type {
  DashboardActions,
  PeerView,
  SharedFileView,
  SwarmFileView,
  TransferView,
} from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';
import { act, Button } from '../ui/button.tsx';
import { formatBytes, percent, shortId } from '../ui/format.ts';
import { EmptyNote, Panel } from '../ui/panel.tsx';
import { ShareDropZone } from './share-drop-zone.tsx';

export function FilesPanel({
  shared,
  swarmFiles,
  transfers,
  peers,
  actions,
}: {
  shared: SharedFileView[];
  swarmFiles: SwarmFileView[];
  transfers: TransferView[];
  peers: PeerView[];
  actions: DashboardActions;
}) {
  const nameOf = (peerId: string) => peers.find((peer) => peer.peerId === peerId)?.name ?? shortId(peerId);
  // A file already downloading is not offered twice.
  const downloading = new Set(
    transfers.filter((t) => t.status !== 'cancelled' && t.status !== 'failed').map((t) => t.fileId),
  );
  return (
    <Panel title="Files" testId={TEST_IDS.panelFiles}>
      <ShareDropZone onFiles={(files) => act(actions.shareFiles(files))} />
      <h3 className="mt-4 mb-1 text-sm font-medium">Shared by you ({shared.length})</h3>
      {shared.length === 0 ? (
        <EmptyNote>Nothing shared from this tab yet.</EmptyNote>
      ) : (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {shared.map((file) => (
            <SharedRow key={file.fileId} file={file} actions={actions} />
          ))}
        </ul>
      )}
      <h3 className="mt-4 mb-1 text-sm font-medium">In the swarm ({swarmFiles.length})</h3>
      {swarmFiles.length === 0 ? (
        <EmptyNote>No files offered by other peers yet.</EmptyNote>
      ) : (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {swarmFiles.map((file) => (
            <li
              key={file.fileId}
              data-testid={TEST_IDS.swarmFileRow}
              data-file-id={file.fileId}
              data-local={String(file.local)}
              data-sources={file.sources.join(' ')}
              className="flex items-center gap-2 py-2 text-sm"
            >
              <div className="min-w-0 flex-1">
                <div className="truncate font-medium" title={file.name}>
                  {file.name}
                </div>
                <div className="truncate text-xs text-slate-500 dark:text-slate-400">
                  {formatBytes(file.size)} · from{' '}
                  {file.sources.length === 0 ? 'nobody online' : file.sources.map(nameOf).join(', ')}
                </div>
              </div>
              {file.local ? (
                <span className="text-xs text-emerald-700 dark:text-emerald-400">You have it</span>
              ) : (
                <Button
                  tone="primary"
                  data-testid={TEST_IDS.downloadButton}
                  disabled={downloading.has(file.fileId) || file.sources.length === 0}
                  onClick={() => act(actions.download(file.fileId))}
                  aria-label={`Download ${file.name}`}
                >
                  {downloading.has(file.fileId) ? 'Downloading' : 'Download'}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function SharedRow({ file, actions }: { file: SharedFileView; actions: DashboardActions }) {
  const hashed = percent(file.progress, 1);
  return (
    <li
      data-testid={TEST_IDS.sharedFileRow}
      data-file-id={file.fileId}
      data-state={file.state}
      className="py-2 text-sm"
    >
      <div className="flex items-center gap-2">
        <div className="min-w-0 flex-1">
          <div className="truncate font-medium" title={file.name}>
            {file.name}
          </div>
          <div className="text-xs text-slate-500 dark:text-slate-400">
            {formatBytes(file.size)} ·{' '}
            {file.state === 'hashing' ? `hashing ${hashed}%` : file.state === 'shared' ? 'shared' : 'failed'}
          </div>
        </div>
        <Button
          data-testid={TEST_IDS.unshareButton}
          onClick={() => act(actions.unshare(file.fileId))}
          aria-label={`Stop sharing ${file.name}`}
        >
          Stop sharing
        </Button>
      </div>
      {file.state === 'hashing' && (
        <div
          role="progressbar"
          aria-label={`Hashing ${file.name}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={hashed}
          className="mt-1 h-1.5 rounded bg-slate-100 dark:bg-slate-800"
        >
          <div className="h-full rounded bg-sky-500 transition-[width]" style={{ width: `${hashed}%` }} />
        </div>
      )}
      {file.error && <p className="mt-1 text-xs text-rose-700 dark:text-rose-400">{file.error}</p>}
    </li>
  );
}
