'use client';
import type { BootstrapState, DashboardView } from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';
import { formatBytes } from '../ui/format.ts';
import { Panel } from '../ui/panel.tsx';

const BOOTSTRAP_WORDS: Record<BootstrapState, { label: string; dot: string }> = {
  connecting: { label: 'Connecting…', dot: 'bg-amber-400' },
  joined: { label: 'Joined the swarm', dot: 'bg-emerald-500' },
  unreachable: { label: 'Bootstrap unreachable', dot: 'bg-rose-500' },
  closed: { label: 'Disconnected', dot: 'bg-slate-400' },
};

export function StatusPanel({ view }: { view: DashboardView }) {
  const { self } = view;
  const bootstrap = BOOTSTRAP_WORDS[self.bootstrapState];
  const online = view.peers.filter((peer) => peer.status === 'online').length;
  const activeTransfers = view.transfers.filter(
    (t) => t.status === 'running' || t.status === 'pending',
  ).length;
  return (
    <Panel title="Status" testId={TEST_IDS.panelStatus}>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-2 text-sm">
        <dt className="text-slate-500 dark:text-slate-400">Your peer id</dt>
        <dd className="min-w-0">
          <code
            data-testid={TEST_IDS.selfPeerId}
            className="block break-all font-mono text-xs select-all"
            title={self.peerId}
          >
            {self.peerId || '—'}
          </code>
        </dd>
        <dt className="text-slate-500 dark:text-slate-400">Bootstrap</dt>
        <dd
          data-testid={TEST_IDS.bootstrapState}
          data-state={self.bootstrapState}
          className="flex min-w-0 items-center gap-2"
        >
          <span aria-hidden className={`inline-block h-2 w-2 shrink-0 rounded-full ${bootstrap.dot}`} />
          <span>{bootstrap.label}</span>
        </dd>
        <dt className="text-slate-500 dark:text-slate-400">Joins through</dt>
        <dd className="min-w-0 truncate font-mono text-xs" title={self.bootstrapUrl}>
          {self.bootstrapUrl}
        </dd>
        {self.storageUsage && (
          <>
            <dt className="text-slate-500 dark:text-slate-400">Storage</dt>
            <dd>
              {formatBytes(self.storageUsage.usage)} of {formatBytes(self.storageUsage.quota)}
              {self.storagePersisted === false && (
                <span className="text-amber-700 dark:text-amber-400"> (may be cleared by the browser)</span>
              )}
            </dd>
          </>
        )}
      </dl>
      <ul className="mt-4 grid grid-cols-2 gap-2 text-center sm:grid-cols-4">
        <Count label="Peers online" value={online} testId={TEST_IDS.countPeersOnline} />
        <Count label="Shared" value={view.shared.length} testId={TEST_IDS.countShared} />
        <Count label="In swarm" value={view.swarmFiles.length} testId={TEST_IDS.countSwarmFiles} />
        <Count label="Transfers" value={activeTransfers} testId={TEST_IDS.countTransfers} />
      </ul>
    </Panel>
  );
}

function Count({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <li className="rounded-lg bg-slate-50 px-2 py-2 dark:bg-slate-800">
      <div data-testid={testId} className="text-lg font-semibold tabular-nums">
        {value}
      </div>
      <div className="text-xs text-slate-500 dark:text-slate-400">{label}</div>
    </li>
  );
}
