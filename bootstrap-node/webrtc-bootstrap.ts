import { WebSocket } from 'ws';
import type { NodeConfig } from './config.ts';
import type { Peer } from '../lib/peer/peer.ts';
import { SignallingClient } from '../lib/peer/signalling/client.ts';
import { ReconnectingSignalling } from '../lib/peer/signalling/reconnecting-client.ts';
import type { WebSocketConstructorLike } from '../lib/peer/signalling/client.ts';
import { parseIceServerUrl } from '../lib/peer/webrtc/ice.ts';
import { nodeRtcPeerConnection } from '../lib/peer/transport-webrtc.node.ts';
import { SignalRelay } from '../lib/peer/signal-relay.ts';
import { TcpPreference } from '../lib/peer/tcp-preference.ts';
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
    dtlsClientToNodes: true,
    ...(config.relayOnly && { iceTransportPolicy: 'relay' as const }),
    log,
  });
  // Peers we are linked to pass signalling on for us, and tell us whom they are linked to.
  const relay = new SignalRelay(peer, log);
  // Two nodes that both take TCP link over TCP; WebRTC links whoever cannot. A relay-only node does
  // not reach out directly: a TCP dial would show the peer this host's address.
  const tcp = !config.noTcp && !config.relayOnly;
  const tcpPreference = new TcpPreference({ peer, webrtc: linker, tcp, maxPeers: config.maxPeers, log });
  relay.on('learned', (via, peerId, tcp) => tcpPreference.learned(via, peerId, tcp));
  relay.on('signal', (via, from, data) => linker.signal(via, from, data));
  // Each endpoint is rejoined by itself after it restarts or the link drops (back-off with jitter).
  const endpoints = [options.ownSignalUrl, ...config.bootstrap].map((url) => {
    const endpoint = new ReconnectingSignalling({
      url,
      makeClient: () => {
        const client = new SignallingClient({
          identity: peer.identity,
          kind: 'node',
          name: config.name,
          WebSocket: WebSocket as unknown as WebSocketConstructorLike,
        });
        client.on('error', (err) => log.warn({ url, reason: err.message }, 'signalling error'));
        linker.listen(client);
        return client;
      },
      onJoined: (client) => linker.linkPresent(client),
    });
    endpoint.on('joined', (_client, joins) =>
      log.info({ url, joins }, joins === 1 ? 'joined a signalling endpoint' : 'rejoined a signalling endpoint'),
    );
    endpoint.on('lost', (reason, retryInMs) =>
      log.warn({ url, reason, retryInMs }, 'lost a signalling endpoint; joining again after a back-off'),
    );
    return endpoint;
  });
  await Promise.all(endpoints.map((e) => e.start()));
  return {
    async close() {
      relay.close();
      tcpPreference.close();
      linker.close();
      await Promise.all(endpoints.map((e) => e.close()));
    },
  };
}
