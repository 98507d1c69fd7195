'use client';
import type { DashboardActions, PeerView } from '../../lib/browser/view.ts';
import { TEST_IDS } from '../test-ids.ts';
import { act, Button } from '../ui/button.tsx';
import { formatBytes, shortId } from '../ui/format.ts';
import { EmptyNote, Panel } from '../ui/panel.tsx';

const STATUS_DOT: Record<PeerView['status'], string> = {
  online: 'bg-emerald-500',
  offline: 'bg-slate-400',
  unknown: 'bg-amber-400',
};

export function PeersPanel({
  peers,
  actions,
  onChat,
}: {
  peers: PeerView[];
  actions: DashboardActions;
  /** Opens the direct conversation with a peer. */
  onChat(peerId: string): void;
}) {
  return (
    <Panel title={`Peers (${peers.length})`} testId={TEST_IDS.panelPeers}>
      {peers.length === 0 ? (
        <EmptyNote>No peers yet. Others appear here as they join through the same bootstrap.</EmptyNote>
      ) : (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {peers.map((peer) => (
            <PeerRow key={peer.peerId} peer={peer} actions={actions} onChat={onChat} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

function PeerRow({
  peer,
  actions,
  onChat,
}: {
  peer: PeerView;
  actions: DashboardActions;
  onChat(peerId: string): void;
}) {
  const online = peer.status === 'online';
  return (
    <li
      data-testid={TEST_IDS.peerRow}
      data-peer-id={peer.peerId}
      data-status={peer.status}
      className="py-2 text-sm"
    >
      <div className="flex items-center gap-2">
        <span
          aria-hidden
          className={`inline-block h-2 w-2 shrink-0 rounded-full ${STATUS_DOT[peer.status]}`}
        />
        <span className="min-w-0 flex-1 truncate" title={peer.peerId}>
          <span className="font-medium">{peer.name ?? shortId(peer.peerId)}</span>
          {peer.name && <span className="ml-1 font-mono text-xs text-slate-500">{shortId(peer.peerId)}</span>}
        </span>
        <span className="rounded bg-slate-100 px-1.5 text-xs text-slate-600 dark:bg-slate-800 dark:text-slate-300">
          {peer.kind}
        </span>
        <span className="sr-only">{peer.status}</span>
      </div>
      <div className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 pl-4 text-xs text-slate-500 dark:text-slate-400">
        <span>{transportWords(peer)}</span>
        <span>RTT {peer.rttMs === null ? '—' : `${Math.round(peer.rttMs)} ms`}</span>
        <span title="received from / sent to this peer">
          ↓ {formatBytes(peer.bytesIn)} ↑ {formatBytes(peer.bytesOut)}
        </span>
        {peer.encrypted && <span title="the connection to this peer is encrypted">encrypted</span>}
        <span className="ml-auto flex gap-1">
          <Button
            data-testid={TEST_IDS.peerChat}
            onClick={() => onChat(peer.peerId)}
            aria-label={`Chat with ${peer.name ?? peer.peerId}`}
          >
            Chat
          </Button>
          {online ? (
            <Button
              data-testid={TEST_IDS.peerDisconnect}
              onClick={() => act(actions.disconnectPeer(peer.peerId))}
            >
              Disconnect
            </Button>
          ) : (
            <Button
              data-testid={TEST_IDS.peerConnect}
              tone="primary"
              onClick={() => act(actions.connectPeer(peer.peerId))}
            >
              Connect
            </Button>
          )}
        </span>
      </div>
    </li>
  );
}

function transportWords(peer: PeerView): string {
  if (peer.transport === null) return 'not connected';
  if (peer.transport === 'relay') return peer.via ? `relayed via ${shortId(peer.via)}` : 'relayed';
  return peer.transport === 'webrtc' ? 'WebRTC' : 'TCP';
}
