/**
 * The offer/answer helper: negotiates one RTCPeerConnection and its one data channel over signalling
 * the caller provides, and hands back a WebRtcTransport once the channel is open.
 */
import { MAX_FRAME_BYTES } from '../constants.ts';
import { SwarmError } from '../errors.ts';
import { WebRtcTransport } from '../transport-webrtc.ts';
import { guarded, listen, messageOf } from './native-events.ts';
import { candidateType, sdpFingerprints, sdpKeepingCandidates } from './sdp.ts';

/** Signalling to open channel; loopback takes ~10 ms (or ~1 s, see createWebRtcConnection). */
export const WEBRTC_OPEN_TIMEOUT_MS = 15_000;
/** Label of our one data channel. */
export const WEBRTC_CHANNEL_LABEL = 'swarmdrop';

/** The RTCPeerConnection constructor: the browser's own, or node-datachannel's polyfill. */
export type RtcPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** What the two sides exchange through signalling, in order. */
export type WebRtcSignal = { sdp: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit };

export type WebRtcConnectionOptions = {
  RTCPeerConnection: RtcPeerConnectionConstructor;
  /** STUN/TURN servers (see parseIceServerUrl); default none, so nothing is asked of third parties. */
  iceServers?: RTCIceServer[];
  /** The offerer creates the data channel; the answerer takes it from 'datachannel'. */
  role: 'offerer' | 'answerer';
  /** Sends one message to the other side (they must reach its `handle` in order). */
  signal: (msg: WebRtcSignal) => void;
  /** node-datachannel only (browsers ignore it): gather candidates on this address alone. */
  bindAddress?: string;
  /**
   * 'relay': TURN relays only (RTCConfiguration's own option). On top of what the stack does, remote
   * candidates other than relay are dropped, and a link whose selected pair is not relayed on our side
   * is refused (see relayOnlyGuard's comment in createWebRtcConnection).
   */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Local candidates for which this returns false are not signalled (tests: loopback only). */
  candidateFilter?: (candidate: string) => boolean;
  /** Largest message we accept, advertised as a=max-message-size; node-datachannel only (default MAX_FRAME_BYTES). */
  maxMessageSize?: number;
  /**
   * Offerer only, off by default: signal the offer with a=setup:active instead of actpass, so the
   * offerer is the DTLS client. Works around libdatachannel 0.24.5 leaving an early ClientHello
   * unprocessed until its 1 s retransmission (see the report); JSEP says offers carry actpass.
   */
  offererDtlsClient?: boolean;
  /** Give up if the channel is not open this long after creation (default WEBRTC_OPEN_TIMEOUT_MS). */
  openTimeoutMs?: number;
};

export interface WebRtcConnection {
  /** Processes one message from the other side; messages are processed one at a time, in order. */
  handle(msg: WebRtcSignal): Promise<void>;
  /** Resolves with the transport once the data channel is open; rejects if negotiation fails. */
  readonly transport: Promise<WebRtcTransport>;
  /** The a=fingerprint values of the local and remote SDP (what the handshake binds identities to). */
  fingerprints(): { local: string | null; remote: string | null };
  /** Closes the transport, or abandons the negotiation; safe to call twice. */
  close(): void;
}

/**
 * Negotiates one RTCPeerConnection with one reliable ordered data channel over caller-provided
 * signalling (trickle ICE). Remote candidates that arrive before the remote description is set are
 * queued: node-datachannel's addIceCandidate throws if it runs first.
 */
export function createWebRtcConnection(options: WebRtcConnectionOptions): WebRtcConnection {
  const started = performance.now();
  const maxMessageSize = Math.min(options.maxMessageSize ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES);
  // Extra keys reach libdatachannel through node-datachannel's polyfill; browsers ignore them.
  const config = {
    iceServers: options.iceServers ?? [],
    maxMessageSize,
    ...(options.bindAddress !== undefined && { bindAddress: options.bindAddress }),
    ...(options.iceTransportPolicy !== undefined && { iceTransportPolicy: options.iceTransportPolicy }),
  };
  const pc = new options.RTCPeerConnection(config as RTCConfiguration);
  // relayOnlyGuard: libdatachannel 0.24 honours 'relay' only for the candidates it signals. libjuice
  // still checks pairs from its host socket to the remote's relay address; where the TURN server's
  // IP-based permission admits that socket (on the relay's own host, and always on loopback) the
  // remote learns a peer-reflexive candidate and both sides settle on a direct host pair (6 runs of 6
  // on 127.0.0.1, measured). So we also drop remote non-relay candidates, and refuse a link whose
  // selected pair is not relayed on our side.
  const relayOnly = options.iceTransportPolicy === 'relay';
  let state: 'negotiating' | 'opening' | 'open' | 'closed' = 'negotiating';
  let transport: WebRtcTransport | null = null;
  let localSdp: string | null = null;
  let remoteSdp: string | null = null;
  const earlyCandidates: RTCIceCandidateInit[] = [];
  // An offerer that leaves the DTLS client role to the answerer (actpass: offers to tabs and to peers
  // of unknown kind) keeps its own candidates until the answer is set. Sent at once, they let the
  // answerer complete ICE with us and send its DTLS client flights while its answer is still on the
  // way through a signalling hub (slower than UDP on loopback); libdatachannel then fails the
  // handshake ("unknown CA": no remote description to check the certificate against). Every
  // browser-peer test run logged such a failed node -> tab link (retried after 2 s); none since.
  // An offerer that is the DTLS client itself (node -> node) trickles at once: held, the answerer's
  // ICE finishes after ours and our first ClientHello is often lost to it and resent by
  // libdatachannel only after 1 s (2 links in 3 in the setup bench). Its remaining risk, an answer
  // slower than ICE, showed only when the signalling was delayed on purpose under load.
  // Tried instead: libdatachannel's disableFingerprintVerification with our own check at open; its
  // handshake still fails while it has no remote description, whatever that option says.
  const holdLocalCandidates = options.role === 'offerer' && !options.offererDtlsClient;
  const heldLocalCandidates: RTCIceCandidateInit[] = [];
  let chain: Promise<void> = Promise.resolve();
  let settle!: { resolve: (t: WebRtcTransport) => void; reject: (err: Error) => void };
  const transportReady = new Promise<WebRtcTransport>((resolve, reject) => (settle = { resolve, reject }));
  transportReady.catch(() => {}); // a caller that never awaits it must not crash the process
  const detach: (() => void)[] = [];
  const timeoutMs = options.openTimeoutMs ?? WEBRTC_OPEN_TIMEOUT_MS;
  const timer = setTimeout(
    () =>
      fail(new SwarmError('CONNECT_TIMEOUT', `the WebRTC data channel did not open within ${timeoutMs} ms`)),
    timeoutMs,
  );

  function fail(err: Error): void {
    if (state === 'open' || state === 'closed') return;
    state = 'closed';
    clearTimeout(timer);
    for (const off of detach.splice(0)) off();
    transport?.close(err);
    try {
      pc.close();
    } catch {
      // Already closed.
    }
    settle.reject(err);
  }
  const failWith = (err: unknown): void =>
    fail(
      err instanceof SwarmError
        ? err
        : new SwarmError('CONNECT_FAILED', `WebRTC negotiation failed: ${messageOf(err)}`, { cause: err }),
    );
  const signal = (msg: WebRtcSignal): void => {
    if (state !== 'closed') options.signal(msg);
  };
  /** Listens until the channel opens or negotiation ends; a handler that throws fails the negotiation. */
  const whileNegotiating = (target: EventTarget, type: string, handler: (e: Event) => void): void =>
    void detach.push(listen(target, type, guarded(handler, failWith)));

  async function opened(channel: RTCDataChannel): Promise<void> {
    if (state !== 'negotiating') return;
    state = 'opening';
    // Built at once, so its listeners catch the first messages; resolved once addresses are known.
    const setupMs = Math.round(performance.now() - started);
    transport = new WebRtcTransport(pc, channel, {
      maxIncomingFrameBytes: maxMessageSize,
      setupMs,
      channelBinding: channelBinding(sdpFingerprints(localSdp), sdpFingerprints(remoteSdp)),
    });
    const pair = await transport.refreshCandidatePair();
    if (state !== 'opening') return;
    if (relayOnly && pair?.local.type !== 'relay') {
      const path = pair ? `${pair.local.type} ${pair.local.address}:${pair.local.port} -> ${pair.remote.type} ${pair.remote.address}:${pair.remote.port}` : 'unknown';
      return fail(new SwarmError('CONNECT_FAILED', `relay-only: ICE settled on a path that is not relayed (${path}); link refused`));
    }
    if (transport.closed)
      return fail(new SwarmError('TRANSPORT_CLOSED', 'the WebRTC connection closed as it opened'));
    state = 'open';
    clearTimeout(timer);
    for (const off of detach.splice(0)) off();
    settle.resolve(transport);
  }
  function adopt(channel: RTCDataChannel): void {
    channel.binaryType = 'arraybuffer';
    if (channel.readyState === 'open') void opened(channel).catch(failWith);
    else whileNegotiating(channel, 'open', () => void opened(channel).catch(failWith));
  }

  whileNegotiating(pc, 'icecandidate', (e) => {
    const c = (e as RTCPeerConnectionIceEvent).candidate;
    if (!c?.candidate) return; // end of candidates
    if (options.candidateFilter && !options.candidateFilter(c.candidate)) return;
    const candidate = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
    if (holdLocalCandidates && remoteSdp === null) heldLocalCandidates.push(candidate);
    else signal({ candidate });
  });
  whileNegotiating(pc, 'connectionstatechange', () => {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      fail(
        new SwarmError(
          'CONNECT_FAILED',
          `the WebRTC connection ${pc.connectionState} before the channel opened`,
        ),
      );
    }
  });

  const isClosed = (): boolean => state === 'closed' || transport?.closed === true;
  async function addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (isClosed()) return; // the native side throws after close
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      if (isClosed()) return;
      throw new SwarmError('BAD_CONTENT', `the remote ICE candidate was rejected: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  async function processSignal(msg: WebRtcSignal): Promise<void> {
    if (state === 'closed') return;
    if ('sdp' in msg && msg.sdp && typeof msg.sdp.sdp === 'string') {
      const expected = options.role === 'offerer' ? 'answer' : 'offer';
      if (msg.sdp.type !== expected || remoteSdp !== null) {
        throw new SwarmError(
          'BAD_CONTENT',
          `unexpected ${msg.sdp.type} (the ${options.role} takes one ${expected})`,
        );
      }
      try {
        const sdp = relayOnly ? sdpKeepingCandidates(msg.sdp.sdp, 'relay') : msg.sdp.sdp;
        await pc.setRemoteDescription({ type: msg.sdp.type, sdp });
        remoteSdp = msg.sdp.sdp;
        if (options.role === 'answerer') {
          // The answer goes out before any remote candidate is added: ICE (and so DTLS) cannot start
          // before the offerer can have the answer, whatever order the offer and candidates came in.
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          localSdp = answer.sdp ?? null;
          signal({ sdp: { type: 'answer', sdp: answer.sdp } });
        }
        for (const candidate of earlyCandidates.splice(0)) await addCandidate(candidate);
        for (const candidate of heldLocalCandidates.splice(0)) signal({ candidate });
      } catch (err) {
        failWith(err);
        throw err;
      }
    } else if ('candidate' in msg && msg.candidate && typeof msg.candidate.candidate === 'string') {
      if (relayOnly && candidateType(msg.candidate.candidate) !== 'relay') return; // see relayOnlyGuard
      if (remoteSdp === null) earlyCandidates.push(msg.candidate);
      else await addCandidate(msg.candidate);
    } else {
      throw new SwarmError('BAD_CONTENT', 'a WebRTC signal must carry an sdp or a candidate');
    }
  }

  if (options.role === 'offerer') {
    adopt(pc.createDataChannel(WEBRTC_CHANNEL_LABEL, { ordered: true }));
    chain = (async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      localSdp = offer.sdp ?? null;
      const sdp = options.offererDtlsClient
        ? localSdp?.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active')
        : localSdp;
      signal({ sdp: { type: 'offer', sdp: sdp ?? undefined } });
    })().catch(failWith);
  } else {
    whileNegotiating(pc, 'datachannel', (e) => {
      const channel = (e as RTCDataChannelEvent).channel;
      if (transport === null && channel.label === WEBRTC_CHANNEL_LABEL) adopt(channel);
      else channel.close(); // we use exactly one channel
    });
  }

  return {
    handle(msg) {
      const task = chain.then(() => processSignal(msg));
      chain = task.catch(() => {});
      return task;
    },
    transport: transportReady,
    fingerprints: () => ({ local: sdpFingerprints(localSdp), remote: sdpFingerprints(remoteSdp) }),
    close() {
      if (transport) transport.close();
      fail(new SwarmError('TRANSPORT_CLOSED', 'the WebRTC connection was closed before its channel opened'));
    },
  };
}

/**
 * The value both ends of one DTLS session compute alike: the two certificate fingerprints, sorted (so
 * the offerer and the answerer agree). A party that terminates DTLS on each side in turn holds two
 * sessions with four fingerprints, so the two ends it joins compute different values.
 */
export function channelBinding(local: string | null, remote: string | null): string | undefined {
  if (!local || !remote) return undefined;
  return `dtls:${[local, remote].sort().join(',')}`;
}
