'use client';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { DashboardSource } from '../lib/browser/view.ts';
import { ChatPanel } from './panels/chat-panel.tsx';
import { FilesPanel } from './panels/files-panel.tsx';
import { NoticesPanel } from './panels/notices-panel.tsx';
import { PeersPanel } from './panels/peers-panel.tsx';
import { SettingsPanel } from './panels/settings-panel.tsx';
import { StatusPanel } from './panels/status-panel.tsx';
import { TransfersPanel } from './panels/transfers-panel.tsx';
import {
  readSavedBootstrap,
  resolveBootstrapUrl,
  saveBootstrap,
  servingNodeBootstrap,
} from './peer/bootstrap-url.ts';
import { ensureSessionStarted, getServerSession, getSession, subscribeSession } from './peer/session.ts';
import type { SessionPhase } from './peer/session.ts';
import { TEST_IDS } from './test-ids.ts';

/** The whole page: starts the tab's peer once, then renders whatever source the session holds. */
export function Dashboard() {
  const session = useSyncExternalStore(subscribeSession, getSession, getServerSession);
  useEffect(
    () => ensureSessionStarted(resolveBootstrapUrl(window.location, readSavedBootstrap(localStorage))),
    [],
  );
  if (!session)
    return (
      <Shell phase="starting">
        <p className="text-sm text-slate-500">Starting your peer…</p>
      </Shell>
    );
  return <Panels phase={session.phase} source={session.source} />;
}

function Panels({ phase, source }: { phase: SessionPhase; source: DashboardSource }) {
  const subscribe = useCallback((onChange: () => void) => source.subscribe(onChange), [source]);
  const getSnapshot = useCallback(() => source.getSnapshot(), [source]);
  const view = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  // Which conversation the chat shows is the page's own concern: the peers panel can open one.
  const [conversation, setConversation] = useState<string | null>(null);
  // Settings remember the chosen address for the next visit, then hand it to the peer.
  const useBootstrap = useCallback(
    (url: string | null) => {
      saveBootstrap(localStorage, url);
      return source.setBootstrap(url ?? servingNodeBootstrap(window.location));
    },
    [source],
  );
  return (
    <Shell phase={phase}>
      <NoticesPanel notices={view.notices} actions={source} />
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="space-y-4">
          <StatusPanel view={view} />
          <PeersPanel peers={view.peers} actions={source} onChat={setConversation} />
          <SettingsPanel
            bootstrapUrl={view.self.bootstrapUrl}
            servingNodeUrl={servingNodeBootstrap(window.location)}
            onBootstrap={useBootstrap}
          />
        </div>
        <ChatPanel
          messages={view.messages}
          peers={view.peers}
          selfId={view.self.peerId}
          conversation={conversation}
          onConversation={setConversation}
          actions={source}
        />
        <div className="space-y-4">
          <FilesPanel
            shared={view.shared}
            swarmFiles={view.swarmFiles}
            transfers={view.transfers}
            peers={view.peers}
            actions={source}
          />
          <TransfersPanel
            transfers={view.transfers}
            peers={view.peers}
            selfId={view.self.peerId}
            actions={source}
          />
        </div>
      </div>
    </Shell>
  );
}

function Shell({ phase, children }: { phase: SessionPhase; children: React.ReactNode }) {
  return (
    <div
      data-testid={TEST_IDS.dashboard}
      data-phase={phase}
      className="mx-auto max-w-7xl space-y-4 p-4 sm:p-6"
    >
      <header className="flex items-baseline gap-3">
        <h1 className="text-xl font-bold tracking-tight">swarmdrop</h1>
        <p className="text-sm text-slate-500 dark:text-slate-400">
          peer-to-peer chat and file sharing, right in this tab
        </p>
      </header>
      <main className="space-y-4">{children}</main>
    </div>
  );
}
