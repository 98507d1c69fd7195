import { WebSocket } from 'ws';
import type { NodeConfig } from './config.ts';
import type { Peer } from '../lib/peer/peer.ts';
import { SignallingClient } from '../lib/peer/signalling/client.ts';
import type { WebSocketConstructorLike } from '../lib/peer/signalling/client.ts';
import { parseIceServerUrl } from '../lib/peer/webrtc/ice.ts';
import { nodeRtcPeerConnection } from '../lib/peer/transport-webrtc.node.ts';
import { SignalRelay } from '../lib/peer/signal-relay.ts';
import { WebRtcLinker } from '../lib/peer/webrtc-linker.ts';
import type { Logger } from '../lib/util/logger.ts';

/**
 * The node's WebRTC side: it joins its own signalling endpoint (so peers that bootstrap from it can
 * reach it over WebRTC) and every --bootstrap endpoint, links to the peers it meets there, and to
 * the peers its neighbours tell it about, with signalling relayed through those neighbours.
 */
export interface WebRtcSide {
  close(): Promise<void>;
}

export async function startWebRtc(options: { peer: Peer; config: NodeConfig; ownSignalUrl: string; log: Logger }): Promise<WebRtcSide> {
  const { peer, config, log } = options;
  const linker = new WebRtcLinker({
    peer,
    RTCPeerConnection: nodeRtcPeerConnection,
    iceServers: config.iceServers.map(parseIceServerUrl),
    // --host binds ICE sockets too: a node kept on one address keeps its WebRTC there as well.
    ...(config.host !== undefined && { bindAddress: config.host }),
    maxPeers: config.maxPeers,
    log,
  });
  // Peers we are linked to pass signalling on for us, and tell us whom they are linked to.
  const relay = new SignalRelay(peer, log);
  // Two nodes that both listen on TCP are left to TCP; WebRTC links whoever cannot take TCP.
  relay.on('learned', (via, peerId, tcp) => {
    if (config.noTcp || !tcp) linker.seen(via, peerId);
  });
  relay.on('signal', (via, from, data) => linker.signal(via, from, data));
  const clients: SignallingClient[] = [];
  for (const url of [options.ownSignalUrl, ...config.bootstrap]) {
    const client = new SignallingClient({
      identity: peer.identity,
      kind: 'node',
      name: config.name,
      WebSocket: WebSocket as unknown as WebSocketConstructorLike,
    });
    client.on('error', (err) => log.warn({ url, reason: err.message }, 'signalling error'));
    try {
      await client.connect(url);
      await linker.use(client);
      clients.push(client);
      log.info({ url }, 'joined a signalling endpoint');
    } catch (err) {
      log.warn({ url, reason: (err as Error).message }, 'could not join a signalling endpoint');
      await client.close().catch(() => {});
    }
  }
  return {
    async close() {
      relay.close();
      linker.close();
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
}
