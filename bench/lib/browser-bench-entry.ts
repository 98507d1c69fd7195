/**
 * The page script of the browser benchmark: the browser-peer test page (startPeer on `window`) plus
 * the two timed runs measured inside the page, so no polling delay is in the figures:
 * `pumpAnswer`/`pumpDone`, the receiving end of the raw data-channel pump from the node process, and
 * `timedDownload`, a download into IndexedDB from the click to the transfer completed (verified).
 */
import '../../tests/support/browser-peer-entry.ts';
import type { TestWindow } from '../../tests/support/browser-peer-entry.ts';

/** A signalling message of the pump (bench/lib/rtc-pump.ts PumpSignal). */
export type PumpSignal = { sdp: string; type: string } | { candidate: string; mid: string };

export interface BenchWindow extends TestWindow {
  /** Set by the benchmark (page.exposeFunction): where the page's pump signalling goes. */
  pumpSignalOut(signal: PumpSignal): Promise<void>;
  /** Starts the receiving end of the pump: it answers the offer that pumpSignalIn brings. */
  pumpReceive(expectedBytes: number, ackEveryBytes: number): void;
  /** Takes one signalling message from the node (handled in order). */
  pumpSignalIn(signal: PumpSignal): Promise<void>;
  /** Resolves once every pumped byte arrived. */
  pumpDone(): Promise<void>;
  /**
   * Starts downloading `fileId`; resolves to the ms from the call to the transfer completed and in the library (it can be saved), and to
   * every byte received and to the transfer completed (the whole-file check done; the rest is adopting
   * it into the library).
   */
  timedDownload(fileId: string, timeoutMs: number): Promise<{ ms: number; receivedMs: number; verifiedMs: number }>;
}

const w = window as unknown as BenchWindow;
let pump: { pc: RTCPeerConnection; done: Promise<void>; queue: Promise<void>; received: number } | null = null;

w.pumpReceive = (expectedBytes, ackEveryBytes) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const state = { pc, done: Promise.resolve(), queue: Promise.resolve(), received: 0 };
  state.done = new Promise<void>((resolve, reject) => {
    pc.ondatachannel = ({ channel }) => {
      channel.binaryType = 'arraybuffer';
      let acked = 0;
      channel.onmessage = ({ data }: MessageEvent<ArrayBuffer | string>) => {
        state.received += typeof data === 'string' ? data.length : data.byteLength;
        // The same end-to-end window as the node's transport (see bench/lib/rtc-pump.ts).
        if (state.received - acked >= ackEveryBytes) {
          acked = state.received;
          channel.send(String(state.received));
        }
        if (state.received >= expectedBytes) {
          resolve();
          setTimeout(() => pc.close(), 0);
        }
      };
      channel.onerror = () => reject(new Error('the pump data channel failed in the page'));
    };
  });
  // A second guard besides the loopback-only namespace: only loopback candidates go out.
  pc.onicecandidate = ({ candidate }) => {
    if (candidate?.candidate.includes(' 127.0.0.1 ')) void w.pumpSignalOut({ candidate: candidate.candidate, mid: candidate.sdpMid ?? '0' });
  };
  pump = state;
};

w.pumpSignalIn = (signal) => {
  const state = pump;
  if (!state) return Promise.reject(new Error('pumpReceive was not called'));
  // Candidates may come while the offer is still being applied: one message at a time, in order.
  state.queue = state.queue.then(async () => {
    if ('sdp' in signal) {
      await state.pc.setRemoteDescription({ type: signal.type as RTCSdpType, sdp: signal.sdp });
      if (signal.type === 'offer') {
        await state.pc.setLocalDescription(await state.pc.createAnswer());
        await w.pumpSignalOut({ sdp: state.pc.localDescription!.sdp, type: 'answer' });
      }
    } else await state.pc.addIceCandidate({ candidate: signal.candidate, sdpMid: signal.mid });
  });
  return state.queue;
};

w.pumpDone = () => pump?.done ?? Promise.reject(new Error('pumpReceive was not called'));

w.timedDownload = (fileId, timeoutMs) =>
  new Promise((resolve, reject) => {
    const startedAt = performance.now();
    let receivedMs = NaN;
    let verifiedMs = NaN;
    const timer = setTimeout(() => finish(new Error(`the download did not complete within ${timeoutMs} ms`)), timeoutMs);
    const check = () => {
      const transfer = w.peer.getSnapshot().transfers.find((t) => t.fileId === fileId);
      if (transfer && Number.isNaN(receivedMs) && transfer.bytesReceived >= transfer.fileSize) receivedMs = performance.now() - startedAt;
      if (transfer?.status === 'completed' && Number.isNaN(verifiedMs)) verifiedMs = performance.now() - startedAt;
      if (transfer?.status === 'completed' && transfer.canSave) finish(performance.now() - startedAt);
      else if (transfer?.status === 'failed') finish(new Error(`the download failed: ${JSON.stringify(transfer)}`));
    };
    const unsubscribe = w.peer.subscribe(check);
    function finish(outcome: number | Error) {
      clearTimeout(timer);
      unsubscribe();
      if (typeof outcome === 'number') resolve({ ms: outcome, receivedMs, verifiedMs });
      else reject(outcome);
    }
    w.peer.download(fileId).then(check, (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
