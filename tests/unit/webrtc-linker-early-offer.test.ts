import { afterAll, describe, expect, it } from 'vitest';
import { Identity } from '../../lib/peer/identity.ts';
import { Peer } from '../../lib/peer/peer.ts';
import { PeerRegistry } from '../../lib/peer/registry.ts';
import { SignallingClient } from '../../lib/peer/signalling/client.ts';
import type { WebSocketConstructorLike, WebSocketLike } from '../../lib/peer/signalling/client.ts';
import { nodeRtcPeerConnection, shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { WebRtcLinker } from '../../lib/peer/webrtc-linker.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { waitFor } from '../support/test-node.ts';

/**
 * An offer that reaches a joining peer in the same read as its `joined` (the offerer heard of the
 * join first and answered at once: a busy joiner reads both frames together, and ws emits them one
 * after the other, before `connect()` has resolved) must still be answered. The endpoint is scripted
 * below the WebSocket; the offer and the answer are real WebRTC (node-datachannel).
 */

type Listener = (event: any) => void;

/** A WebSocket whose endpoint is a script: it sends `joined` and then `afterJoin` in one turn. */
function scriptedEndpoint(afterJoin: () => Record<string, unknown>, sent: any[]): WebSocketConstructorLike {
  return class ScriptedSocket implements WebSocketLike {
    readyState = 1;
    #listeners = new Map<string, Listener[]>();
    constructor() {
      queueMicrotask(() => this.#deliver({ type: 'challenge', version: 1, nonce: 'bm9uY2U=' }));
    }
    addEventListener(type: string, listener: Listener): void {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
    }
    send(text: string): void {
      const message = JSON.parse(text);
      sent.push(message);
      if (message.type !== 'join') return;
      this.#deliver({ type: 'joined', peer_id: message.peer_id, peers: [] });
      this.#deliver(afterJoin());
    }
    close(code = 1000, reason = ''): void {
      this.readyState = 3;
      for (const l of this.#listeners.get('close') ?? []) l({ code, reason });
    }
    #deliver(message: unknown): void {
      for (const l of this.#listeners.get('message') ?? []) l({ data: JSON.stringify(message) });
    }
  } as unknown as WebSocketConstructorLike;
}

afterAll(() => shutdownWebRtc());

describe('WebRtcLinker.listen', () => {
  it('answers an offer that arrives in the same read as the join', async () => {
    const [joinerIdentity, offererIdentity] = await Promise.all([Identity.generate(), Identity.generate()]);
    const offerer = new nodeRtcPeerConnection({ iceServers: [] });
    offerer.createDataChannel('probe');
    await offerer.setLocalDescription(await offerer.createOffer());
    const offer = { type: 'offer', sdp: offerer.localDescription!.sdp };

    const sent: any[] = [];
    const WebSocket = scriptedEndpoint(
      () => ({ type: 'signal', from: offererIdentity.peerId, to: joinerIdentity.peerId, data: { sdp: offer, attempt: 'a1' } }),
      sent,
    );
    const peer = new Peer({ identity: joinerIdentity, kind: 'node', name: null, registry: new PeerRegistry(), log: silentLogger, advertiseAddress: () => 'localhost' });
    const linker = new WebRtcLinker({ peer, RTCPeerConnection: nodeRtcPeerConnection, iceServers: [], bindAddress: '127.0.0.1', maxPeers: 8, log: silentLogger });
    const client = new SignallingClient({ identity: joinerIdentity, kind: 'node', WebSocket });
    try {
      linker.listen(client);
      await client.connect('ws://127.0.0.1:1/signal');
      const answer = await waitFor(
        () => sent.find((m) => m.type === 'signal' && m.to === offererIdentity.peerId && m.data?.sdp?.type === 'answer'),
        10_000,
        'an answer to the early offer',
      );
      expect(answer.data.attempt).toBe('a1');
    } finally {
      linker.close();
      offerer.close();
      await client.close();
    }
  });
});
