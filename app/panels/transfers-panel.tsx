'use client';
import type { DashboardActions, PeerView, TransferView } from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';
import { act, Button } from '../ui/button.tsx';
import { formatBytes, formatEta, formatSpeed, percent, shortId } from '../ui/format.ts';
import { EmptyNote, Panel } from '../ui/panel.tsx';
import { peerColour } from '../ui/peer-colors.ts';
import { ChunkMap } from './chunk-map.tsx';

const STATUS_WORDS: Record<TransferView['status'], string> = {
  pending: 'Waiting for sources',
  running: 'Downloading',
  paused: 'Paused',
  completed: 'Complete',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function TransfersPanel({
  transfers,
  peers,
  selfId,
  actions,
}: {
  transfers: TransferView[];
  peers: PeerView[];
  selfId: string;
  actions: DashboardActions;
}) {
  const nameOf = (peerId: string) =>
    peerId === selfId ? 'this tab' : (peers.find((peer) => peer.peerId === peerId)?.name ?? shortId(peerId));
  return (
    <Panel title="Transfers" testId={TEST_IDS.panelTransfers}>
      {transfers.length === 0 ? (
        <EmptyNote>No downloads yet. Pick a file under “In the swarm” to start one.</EmptyNote>
      ) : (
        <ul className="space-y-4">
          {transfers.map((transfer) => (
            <TransferRow key={transfer.transferId} transfer={transfer} nameOf={nameOf} actions={actions} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

function TransferRow({
  transfer,
  nameOf,
  actions,
}: {
  transfer: TransferView;
  nameOf(id: string): string;
  actions: DashboardActions;
}) {
  const done = percent(transfer.chunksCompleted, transfer.chunkCount);
  const active = transfer.status === 'running' || transfer.status === 'pending';
  const finished =
    transfer.status === 'completed' || transfer.status === 'cancelled' || transfer.status === 'failed';
  return (
    <li
      data-testid={TEST_IDS.transferRow}
      data-transfer-id={transfer.transferId}
      data-file-id={transfer.fileId}
      data-status={transfer.status}
      className="text-sm"
    >
      <div className="flex flex-wrap items-baseline gap-x-2">
        <span className="min-w-0 flex-1 truncate font-medium" title={transfer.fileName}>
          {transfer.fileName}
        </span>
        <span data-testid={TEST_IDS.transferStatus} className="text-xs text-slate-600 dark:text-slate-300">
          {STATUS_WORDS[transfer.status]}
        </span>
      </div>
      <div
        data-testid={TEST_IDS.transferProgress}
        role="progressbar"
        aria-label={`${transfer.fileName} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={done}
        className="mt-1 h-2 rounded bg-slate-100 dark:bg-slate-800"
      >
        <div
          className={`h-full rounded transition-[width] ${transfer.status === 'failed' ? 'bg-rose-500' : 'bg-sky-500'}`}
          style={{ width: `${done}%` }}
        />
      </div>
      <div className="mt-1 flex flex-wrap gap-x-3 text-xs text-slate-500 dark:text-slate-400">
        <span>
          {done}% · {formatBytes(transfer.bytesReceived)} of {formatBytes(transfer.fileSize)}
        </span>
        {active && <span>{formatSpeed(transfer.speedBps)}</span>}
        {active && <span>ETA {formatEta(transfer.etaSeconds)}</span>}
        <span>
          {transfer.chunksCompleted}/{transfer.chunkCount} chunks
        </span>
      </div>
      {transfer.error && <p className="mt-1 text-xs text-rose-700 dark:text-rose-400">{transfer.error}</p>}
      <ChunkMap
        chunkMap={transfer.chunkMap}
        label={`${transfer.chunksCompleted} of ${transfer.chunkCount} chunks of ${transfer.fileName}, coloured by the peer that sent each`}
      />
      {transfer.chunkSources.length > 0 && (
        <ul aria-label="Contribution per peer" className="mt-2 space-y-0.5 text-xs">
          {transfer.chunkSources.map((peerId, index) => {
            const contribution = transfer.peers.find((p) => p.peerId === peerId);
            return (
              <li
                key={peerId}
                data-testid={TEST_IDS.transferSource}
                data-peer-id={peerId}
                data-chunks={contribution?.chunks ?? 0}
                className="flex items-center gap-2"
              >
                <span
                  aria-hidden
                  className="inline-block h-2.5 w-2.5 rounded-sm"
                  style={{ background: peerColour(index) }}
                />
                <span className="min-w-0 flex-1 truncate" title={peerId}>
                  {nameOf(peerId)}
                </span>
                {contribution && (
                  <span className="tabular-nums text-slate-500 dark:text-slate-400">
                    {formatBytes(contribution.bytes)} · {contribution.chunks} chunks
                    {active ? ` · ${formatSpeed(contribution.speedBps)}` : ''}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <div className="mt-2 flex flex-wrap gap-1">
        {active && (
          <Button
            data-testid={TEST_IDS.transferPause}
            onClick={() => act(actions.pause(transfer.transferId))}
          >
            Pause
          </Button>
        )}
        {transfer.status === 'paused' && (
          <Button
            data-testid={TEST_IDS.transferResume}
            tone="primary"
            onClick={() => act(actions.resume(transfer.transferId))}
          >
            Resume
          </Button>
        )}
        {!finished && (
          <Button
            data-testid={TEST_IDS.transferCancel}
            tone="danger"
            onClick={() => act(actions.cancel(transfer.transferId))}
          >
            Cancel
          </Button>
        )}
        {transfer.canSave && (
          <Button
            data-testid={TEST_IDS.saveButton}
            tone="primary"
            onClick={() => act(actions.saveToDisk(transfer.transferId))}
          >
            Save to disk
          </Button>
        )}
      </div>
    </li>
  );
}
