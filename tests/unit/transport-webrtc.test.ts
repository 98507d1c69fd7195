import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../lib/peer/constants.ts';
import { isSwarmError } from '../../lib/peer/errors.ts';
import type { WebRtcTransport } from '../../lib/peer/transport-webrtc.ts';
import { WEBRTC_WINDOW_BYTES } from '../../lib/peer/webrtc/ack-window.ts';
import {
  createWebRtcConnection,
  type WebRtcConnection,
  type WebRtcSignal,
} from '../../lib/peer/webrtc/connect.ts';
import { parseIceServerUrl } from '../../lib/peer/webrtc/ice.ts';
import { candidateAddress, candidateType, sdpFingerprints, sdpKeepingCandidates } from '../../lib/peer/webrtc/sdp.ts';
import {
  connectWebRtcPair,
  nodeRtcPeerConnection,
  shutdownWebRtc,
} from '../../lib/peer/transport-webrtc.node.ts';
import { runTransportContract } from './transport-contract.ts';

const LOOPBACK = '127.0.0.1';
const KIB = 1024;
const MIB = 1024 * KIB;
/**
 * The transport's end-to-end window bounds what is sent but not yet delivered to 'frame' listeners,
 * whatever sits in between (usrsctp buffers, node-datachannel's unbounded queue of received
 * messages). Without the window that gap measured 12-40 MiB here and grew with the amount sent.
 */
const WEBRTC_MAX_IN_FLIGHT_BYTES = WEBRTC_WINDOW_BYTES;
/** Generous: on loopback the remote notices within milliseconds. */
const REMOTE_CLOSE_BOUND_MS = 5_000;

/** Every transport the tests made, so afterAll can wait for their connections to close. */
const made: WebRtcTransport[] = [];
function keep<T extends WebRtcTransport[]>(transports: T): T {
  made.push(...transports);
  return transports;
}

afterAll(async () => {
  for (const t of made) t.close();
  await Promise.all(made.map((t) => t.shutDown));
  // node-datachannel's threads would otherwise keep the test process alive.
  shutdownWebRtc();
});

runTransportContract('webrtc', async () => keep(await connectWebRtcPair()), {
  maxInFlightBytes: WEBRTC_MAX_IN_FLIGHT_BYTES,
});

/** An RTCPeerConnection that is node-datachannel's, remembered so a test can close it directly. */
function capturingPeerConnection(into: RTCPeerConnection[]): typeof nodeRtcPeerConnection {
  return class extends nodeRtcPeerConnection {
    constructor(config?: RTCConfiguration) {
      super(config);
      into.push(this);
    }
  };
}

/**
 * Two connections on loopback whose signalling the test controls: `deliver` decides what reaches
 * the answerer (default: everything, in order).
 */
function manualPair(
  options: {
    pcs?: RTCPeerConnection[];
    toAnswerer?: (msg: WebRtcSignal, answerer: WebRtcConnection) => void;
    /** Drop non-loopback candidates before signalling them (default true). */
    filter?: boolean;
  } = {},
): { offerer: WebRtcConnection; answerer: WebRtcConnection } {
  const common = {
    RTCPeerConnection: options.pcs ? capturingPeerConnection(options.pcs) : nodeRtcPeerConnection,
    iceServers: [],
    bindAddress: LOOPBACK,
    candidateFilter: options.filter === false ? undefined : (c: string) => candidateAddress(c) === LOOPBACK,
  };
  const ends: { offerer?: WebRtcConnection; answerer?: WebRtcConnection } = {};
  const toAnswerer = options.toAnswerer ?? ((msg, answerer) => void answerer.handle(msg));
  ends.offerer = createWebRtcConnection({
    ...common,
    role: 'offerer',
    offererDtlsClient: true,
    signal: (msg) => queueMicrotask(() => toAnswerer(msg, ends.answerer!)),
  });
  ends.answerer = createWebRtcConnection({
    ...common,
    role: 'answerer',
    signal: (msg) => queueMicrotask(() => void ends.offerer!.handle(msg)),
  });
  return { offerer: ends.offerer, answerer: ends.answerer };
}

describe('WebRTC transport', () => {
  it('keeps ICE on loopback: the selected candidate pair is 127.0.0.1 on both ends', async () => {
    const [a, b] = keep(await connectWebRtcPair({ log: (line) => console.log(line) }));
    for (const t of [a, b]) {
      expect(t.kind).toBe('webrtc');
      expect(t.candidatePair?.local.address).toBe(LOOPBACK);
      expect(t.candidatePair?.remote.address).toBe(LOOPBACK);
      expect(t.localAddress).toBe(LOOPBACK);
      expect(t.remoteAddress).toBe(LOOPBACK);
    }
    expect(a.remotePort).toBe(b.candidatePair?.local.port);
  });

  it('passes bindAddress to libdatachannel: unfiltered, every gathered candidate is 127.0.0.1', async () => {
    const signalled: string[] = [];
    const { offerer, answerer } = manualPair({
      filter: false,
      toAnswerer: (msg, to) => {
        if ('candidate' in msg) signalled.push(msg.candidate.candidate ?? '');
        void to.handle(msg);
      },
    });
    keep(await Promise.all([offerer.transport, answerer.transport]));
    expect(signalled.length).toBeGreaterThan(0);
    expect(signalled.map(candidateAddress)).toEqual(signalled.map(() => LOOPBACK));
  });

  it('negotiates node<->node up to MAX_FRAME_BYTES, and sizes frames to a smaller advertised maximum', async () => {
    const [big] = keep(await connectWebRtcPair());
    expect(big.maxFrameBytes).toBe(MAX_FRAME_BYTES);
    // Chromium advertises 256 KiB; node-datachannel can be told to do the same.
    const [a, b] = keep(await connectWebRtcPair({ maxMessageSize: 256 * KIB }));
    expect(a.maxFrameBytes).toBe(256 * KIB);
    const got: number[] = [];
    b.on('frame', (f) => got.push(f.length));
    const err = await a.send(new Uint8Array(256 * KIB + 1)).catch((e: unknown) => e);
    expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
    expect(a.closed).toBe(false);
    await a.send(new Uint8Array(256 * KIB));
    await expect.poll(() => got, { timeout: 10_000 }).toEqual([256 * KIB]);
  });

  it('delivers what was sent before an orderly close', async () => {
    const [a, b] = keep(await connectWebRtcPair());
    const got: number[] = [];
    b.on('frame', (f) => got.push(f.length));
    const closed = new Promise<Error | undefined>((resolve) => b.once('close', resolve));
    const sends = [a.send(new Uint8Array(MIB)), a.send(new Uint8Array(MIB)), a.send(new Uint8Array(5))];
    await Promise.all(sends);
    a.close();
    expect(await closed).toBeUndefined();
    expect(got).toEqual([MIB, MIB, 5]);
  });

  it("closing one side's RTCPeerConnection closes the other's transport within a bound", async () => {
    const pcs: RTCPeerConnection[] = [];
    const { offerer, answerer } = manualPair({ pcs });
    const [a, b] = keep(await Promise.all([offerer.transport, answerer.transport]));
    const closedAt = new Promise<number>((resolve) => b.once('close', () => resolve(performance.now())));
    const start = performance.now();
    pcs[0]!.close(); // the offerer's, underneath its transport
    const elapsed = (await closedAt) - start;
    console.log(`remote transport closed ${elapsed.toFixed(1)} ms after the peer connection closed`);
    expect(elapsed).toBeLessThan(REMOTE_CLOSE_BOUND_MS);
    expect(b.closed).toBe(true);
    await expect.poll(() => a.closed, { timeout: REMOTE_CLOSE_BOUND_MS }).toBe(true);
  });

  it('holds frames that arrive before the receiver listens', async () => {
    const { offerer, answerer } = manualPair();
    const a = await offerer.transport;
    keep([a]);
    await a.send(Uint8Array.of(1, 2, 3)); // sent before the other end was even handed out
    const b = await answerer.transport;
    keep([b]);
    await sleep(100);
    const got: number[][] = [];
    b.on('frame', (f) => got.push([...f]));
    await expect.poll(() => got, { timeout: 5_000 }).toEqual([[1, 2, 3]]);
  });

  it('queues candidates that arrive before the description, and reports matching fingerprints', async () => {
    // Hold everything for the offerer, then deliver the answerer's candidates ahead of its answer
    // (a relayed signalling path can reorder them so).
    const held: WebRtcSignal[] = [];
    const toAnswerer: WebRtcSignal[] = [];
    let released = false;
    const ends: { offerer?: WebRtcConnection; answerer?: WebRtcConnection } = {};
    const common = { RTCPeerConnection: nodeRtcPeerConnection, iceServers: [], bindAddress: LOOPBACK };
    ends.offerer = createWebRtcConnection({
      ...common,
      role: 'offerer',
      signal: (msg) => {
        toAnswerer.push(msg);
        queueMicrotask(() => void ends.answerer!.handle(msg));
      },
    });
    ends.answerer = createWebRtcConnection({
      ...common,
      role: 'answerer',
      signal: (msg) => {
        if (released) queueMicrotask(() => void ends.offerer!.handle(msg));
        else held.push(msg);
      },
    });
    const { offerer, answerer } = ends as Required<typeof ends>;
    await expect.poll(() => held.some((m) => 'sdp' in m) && held.some((m) => 'candidate' in m)).toBe(true);
    // An actpass offerer keeps its own candidates until it has the answer (see connect.ts): the offer went alone.
    expect(toAnswerer.map((m) => ('sdp' in m ? 'sdp' : 'candidate'))).toEqual(['sdp']);
    released = true;
    const ordered = [...held.filter((m) => 'candidate' in m), ...held.filter((m) => 'sdp' in m)];
    await Promise.all(ordered.map((m) => offerer.handle(m)));
    keep(await Promise.all([offerer.transport, answerer.transport]));
    expect(toAnswerer.some((m) => 'candidate' in m)).toBe(true);
    const fingerprint = /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/;
    expect(offerer.fingerprints().local).toMatch(fingerprint);
    expect(offerer.fingerprints().local).toBe(answerer.fingerprints().remote);
    expect(answerer.fingerprints().local).toBe(offerer.fingerprints().remote);
    expect(offerer.fingerprints().local).not.toBe(answerer.fingerprints().local);
  });

  it('refuses a link whose DTLS certificate is not the one the remote description names', async () => {
    // Signalling that swaps the fingerprint in the offer: the answerer's DTLS check refuses the certificate.
    const swap = (sdp: string) =>
      sdp.replace(/^a=fingerprint:sha-256 ([0-9A-F:]+)/m, (_, fp: string) => `a=fingerprint:sha-256 ${fp.split(':').reverse().join(':')}`);
    const { offerer, answerer } = manualPair({
      toAnswerer: (msg, to) =>
        void to.handle('sdp' in msg && msg.sdp?.sdp ? { sdp: { ...msg.sdp, sdp: swap(msg.sdp.sdp) } } : msg).catch(() => {}),
    });
    const [atOfferer, atAnswerer] = await Promise.allSettled([offerer.transport, answerer.transport]);
    for (const end of [atOfferer, atAnswerer]) if (end.status === 'fulfilled') keep([end.value]);
    expect(atAnswerer.status).toBe('rejected');
    expect(isSwarmError((atAnswerer as PromiseRejectedResult).reason, 'CONNECT_FAILED')).toBe(true);
  });

  it('rejects the transport promise when closed before the channel opens; close twice is safe', async () => {
    const lone = createWebRtcConnection({
      RTCPeerConnection: nodeRtcPeerConnection,
      role: 'offerer',
      signal: () => {},
    });
    lone.close();
    lone.close();
    const err = await lone.transport.catch((e: unknown) => e);
    expect(isSwarmError(err, 'TRANSPORT_CLOSED')).toBe(true);
  });

  it('measures set-up time, signalling to open channel (printed, not asserted)', async () => {
    const runs = { 'offer a=setup:active': [] as number[], 'standard actpass': [] as number[] };
    for (let i = 0; i < 4; i++) {
      for (const [label, offererDtlsClient] of [
        ['offer a=setup:active', true],
        ['standard actpass', false],
      ] as const) {
        const [a, b] = keep(await connectWebRtcPair({ offererDtlsClient }));
        runs[label].push(Math.max(a.setupMs ?? NaN, b.setupMs ?? NaN));
        a.close();
      }
    }
    for (const [label, times] of Object.entries(runs))
      console.log(`webrtc set-up (${label}), ms: ${times.join(' ')}`);
    expect(
      Object.values(runs)
        .flat()
        .every((ms) => ms >= 0),
    ).toBe(true);
  });
});

describe('parseIceServerUrl', () => {
  it('reads STUN and TURN URLs, with credentials for TURN', () => {
    expect(parseIceServerUrl('stun:stun.example.org:3478')).toEqual({ urls: 'stun:stun.example.org:3478' });
    expect(parseIceServerUrl('stun:10.0.0.1')).toEqual({ urls: 'stun:10.0.0.1' });
    expect(parseIceServerUrl('turn:alice:s3cret@turn.example.org:3478')).toEqual({
      urls: 'turn:turn.example.org:3478',
      username: 'alice',
      credential: 's3cret',
    });
    expect(parseIceServerUrl('turns:bob:p%40ss%3Aw@[2001:db8::1]:5349?transport=tcp')).toEqual({
      urls: 'turns:[2001:db8::1]:5349?transport=tcp',
      username: 'bob',
      credential: 'p@ss:w',
    });
  });

  it('never repeats a TURN password in its error', () => {
    expect(() => parseIceServerUrl('turn:alice:s3cret@bad host:1')).toThrow('turn:alice:***@bad host:1');
    expect(() => parseIceServerUrl('turn:alice:s3cret@bad host:1')).not.toThrow('s3cret');
  });

  it.each([
    ['http://example.org', 'must start with stun:'],
    ['turn:turn.example.org:3478', 'needs credentials'],
    ['turn:alice@turn.example.org:3478', 'USER:PASS'],
    ['turn::pass@turn.example.org', 'USER:PASS'],
    ['stun:user:pass@stun.example.org', 'no credentials'],
    ['stun:stun.example.org:99999', 'port'],
    ['stun:bad host', 'host'],
    ['turn:a:%E0%A4%A@h:1', 'percent-encoding'],
  ])('rejects %s clearly', (url, why) => {
    expect(() => parseIceServerUrl(url)).toThrow(why);
  });
});

describe('SDP and candidate helpers', () => {
  it('extracts fingerprints and candidate addresses', () => {
    const sdp =
      'v=0\r\na=fingerprint:SHA-256 ab:cd:ef\r\nm=application 9\r\na=fingerprint:sha-256 AB:CD:EF\r\n';
    expect(sdpFingerprints(sdp)).toBe('sha-256 AB:CD:EF');
    expect(sdpFingerprints('v=0\r\n')).toBeNull();
    expect(candidateAddress('candidate:1 1 UDP 2114977791 127.0.0.1 5000 typ host')).toBe(LOOPBACK);
    expect(candidateAddress('a=candidate:2 1 UDP 1 192.0.2.7 9 typ srflx')).toBe('192.0.2.7');
  });

  it('reads candidate types and keeps only the relay candidates of a description (relay-only)', () => {
    expect(candidateType('candidate:1 1 UDP 2114977791 127.0.0.1 5000 typ host')).toBe('host');
    expect(candidateType('a=candidate:3 1 UDP 1048063 127.0.0.1 50536 typ relay raddr 0.0.0.0 rport 0')).toBe('relay');
    expect(candidateType('garbage')).toBeNull();
    const sdp = [
      'v=0',
      'a=candidate:1 1 UDP 2114977791 192.0.2.1 5000 typ host',
      'a=candidate:3 1 UDP 1048063 198.51.100.9 50536 typ relay raddr 0.0.0.0 rport 0',
      'a=candidate:2 1 UDP 1 203.0.113.7 9 typ srflx raddr 192.0.2.1 rport 5000',
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    expect(sdpKeepingCandidates(sdp, 'relay')).toBe(
      'v=0\r\na=candidate:3 1 UDP 1048063 198.51.100.9 50536 typ relay raddr 0.0.0.0 rport 0\r\na=end-of-candidates\r\n',
    );
  });
});
