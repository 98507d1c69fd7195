/**
 * Node wiring for the WebRTC transport: node-datachannel's standard RTCPeerConnection, its
 * process-wide shutdown, and an in-process connected pair for tests and benchmarks.
 */
import { cleanup } from 'node-datachannel';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import type { WebRtcTransport } from './transport-webrtc.ts';
import { createWebRtcConnection } from './webrtc/connect.ts';
import type { RtcPeerConnectionConstructor, WebRtcConnection, WebRtcSignal } from './webrtc/connect.ts';
import { candidateAddress } from './webrtc/sdp.ts';

/** Peer connections not yet closed, so that shutdownWebRtc can close them before the native cleanup. */
const livePeerConnections = new Set<PolyfillPeerConnection>();

class TrackedPeerConnection extends PolyfillPeerConnection {
  constructor(config?: RTCConfiguration) {
    super(config);
    livePeerConnections.add(this);
  }

  override close(): void {
    livePeerConnections.delete(this);
    super.close();
  }
}

/**
 * node-datachannel's RTCPeerConnection (the standard API), for createWebRtcConnection. The cast is
 * only for the polyfill's typings, whose `ondatachannel` names its own event class.
 */
export const nodeRtcPeerConnection = TrackedPeerConnection as unknown as RtcPeerConnectionConstructor;

/**
 * Closes every peer connection still open and stops node-datachannel's threads, which otherwise
 * keep the process alive. Call once, when the process is done with WebRTC (at exit, in afterAll).
 */
export function shutdownWebRtc(): void {
  for (const pc of [...livePeerConnections]) {
    try {
      pc.close();
    } catch {
      // Already torn down.
    }
  }
  cleanup();
}

const LOOPBACK = '127.0.0.1';

export type WebRtcPairOptions = {
  /** Advertised maximum message size on both ends (default: createWebRtcConnection's). */
  maxMessageSize?: number;
  /** See WebRtcConnectionOptions.offererDtlsClient (default true here: tests should not wait 1 s). */
  offererDtlsClient?: boolean;
  /** Receives one line naming the selected candidate pair and the set-up time. */
  log?: (line: string) => void;
};

/**
 * Two connected WebRTC transports in this process: [offerer's end, answerer's end]. Signalling is a
 * direct in-order pipe; ICE stays on loopback (bindAddress 127.0.0.1, no ICE servers, and only
 * 127.0.0.1 candidates are signalled). Read `candidatePair` on either end to check the path.
 */
export async function connectWebRtcPair(
  options: WebRtcPairOptions = {},
): Promise<[WebRtcTransport, WebRtcTransport]> {
  const ends: { offerer?: WebRtcConnection; answerer?: WebRtcConnection } = {};
  let pipeError: unknown = null;
  /** Delivers after the current task, so both ends exist, and in order (handle queues per end). */
  const pipeTo = (to: 'offerer' | 'answerer') => (msg: WebRtcSignal) =>
    queueMicrotask(() => {
      ends[to]?.handle(msg).catch((err: unknown) => {
        pipeError ??= err;
        ends.offerer?.close();
        ends.answerer?.close();
      });
    });
  const common = {
    RTCPeerConnection: nodeRtcPeerConnection,
    iceServers: [],
    bindAddress: LOOPBACK,
    candidateFilter: (candidate: string) => candidateAddress(candidate) === LOOPBACK,
    maxMessageSize: options.maxMessageSize,
  };
  ends.offerer = createWebRtcConnection({
    ...common,
    role: 'offerer',
    signal: pipeTo('answerer'),
    offererDtlsClient: options.offererDtlsClient ?? true,
  });
  ends.answerer = createWebRtcConnection({ ...common, role: 'answerer', signal: pipeTo('offerer') });
  try {
    const pair = await Promise.all([ends.offerer.transport, ends.answerer.transport]);
    const [a, b] = pair;
    const where = (t: WebRtcTransport): string => {
      const p = t.candidatePair;
      return p
        ? `${p.local.address}:${p.local.port} (${p.local.type}) -> ${p.remote.address}:${p.remote.port} (${p.remote.type})`
        : 'unknown';
    };
    options.log?.(
      `webrtc pair open in ${a.setupMs} ms / ${b.setupMs} ms: offerer ${where(a)}; answerer ${where(b)}`,
    );
    return pair;
  } catch (err) {
    ends.offerer.close();
    ends.answerer.close();
    throw pipeError ?? err;
  }
}
