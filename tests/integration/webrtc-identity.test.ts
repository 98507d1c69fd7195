import { afterAll, describe, expect, it } from 'vitest';
import { Connection } from '../../lib/peer/connection.ts';
import type { RemoteInfo } from '../../lib/peer/connection.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { nodeRtcPeerConnection, shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import type { Transport } from '../../lib/peer/transport.ts';
import { createWebRtcConnection } from '../../lib/peer/webrtc/connect.ts';
import type { WebRtcConnection, WebRtcSignal } from '../../lib/peer/webrtc/connect.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { realTimers } from '../../lib/util/timers.ts';

afterAll(() => shutdownWebRtc());

/** Two WebRTC ends joined by a direct signalling pipe (what an honest endpoint does). */
async function link(): Promise<[Transport, Transport]> {
  const ends: { offerer?: WebRtcConnection; answerer?: WebRtcConnection } = {};
  const pipe = (to: 'offerer' | 'answerer') => (msg: WebRtcSignal) => void ends[to]!.handle(msg);
  const common = { RTCPeerConnection: nodeRtcPeerConnection, iceServers: [], bindAddress: '127.0.0.1' };
  const offerer = (ends.offerer = createWebRtcConnection({ ...common, role: 'offerer', signal: pipe('answerer') }));
  const answerer = (ends.answerer = createWebRtcConnection({ ...common, role: 'answerer', signal: pipe('offerer') }));
  return Promise.all([offerer.transport, answerer.transport]);
}

function connection(transport: Transport, role: 'dialler' | 'acceptor', identity: Identity) {
  return new Connection({
    transport,
    role,
    log: silentLogger,
    timers: realTimers,
    handshakeTimeoutMs: 5_000,
    local: { identity, kind: 'node', name: null, port: 0, advertiseAddress: () => 'localhost' },
  });
}

const outcome = (c: Connection) =>
  new Promise<RemoteInfo | Error | undefined>((resolve) => {
    c.once('open', resolve);
    c.once('close', resolve);
  });

describe('identity bound to the WebRTC link', () => {
  it('opens between two honest ends, with the DTLS fingerprints as the channel binding', async () => {
    const [alice, bob] = await Promise.all([Identity.generate(), Identity.generate()]);
    const [ta, tb] = await link();
    expect(ta.channelBinding).toBeTruthy();
    expect(ta.channelBinding).toBe(tb.channelBinding);
    const [a, b] = [connection(ta, 'dialler', alice), connection(tb, 'acceptor', bob)];
    const [seenByAlice, seenByBob] = await Promise.all([outcome(a), outcome(b)]);
    expect(seenByAlice).toMatchObject({ peerId: bob.peerId, verified: true });
    expect(seenByBob).toMatchObject({ peerId: alice.peerId, verified: true });
    a.close();
    b.close();
  });

  it('refuses a signalling endpoint that sits in the middle with peer connections of its own', async () => {
    const [alice, bob] = await Promise.all([Identity.generate(), Identity.generate()]);
    // The man in the middle answers Alice's offer itself and makes its own offer to Bob, then relays
    // every frame between the two data channels: two DTLS sessions, each with its own fingerprints.
    const [toAlice, aliceSide] = await link();
    const [bobSide, toBob] = await link();
    const relay = (from: Transport, to: Transport) => from.on('frame', (frame) => void to.send(frame).catch(() => {}));
    relay(toAlice, toBob);
    relay(toBob, toAlice);
    expect(aliceSide.channelBinding).not.toBe(bobSide.channelBinding);
    const [a, b] = [connection(aliceSide, 'dialler', alice), connection(bobSide, 'acceptor', bob)];
    const [seenByAlice, seenByBob] = await Promise.all([outcome(a), outcome(b)]);
    // Bob answers Alice's hello with a proof bound to his session; Alice, on hers, cannot verify it.
    expect(seenByAlice).toMatchObject({ code: 'IDENTITY_MISMATCH' });
    expect(String((seenByAlice as Error).message)).toMatch(/identity proof/);
    expect(seenByBob).toBeInstanceOf(Error);
    for (const t of [toAlice, aliceSide, bobSide, toBob]) t.close();
  });
});
