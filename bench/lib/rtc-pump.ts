/**
 * The WebRTC ceiling: a raw node-datachannel data channel from this process to a receiving end
 * (by default a child process, bench/lib/rtc-pump-receiver.ts; the browser benchmark passes a
 * Chromium page), loopback ICE only (bindAddress 127.0.0.1, no ICE servers), sending fixed-size
 * binary messages as fast as `bufferedAmount` allows, with the same high and low water marks as the
 * node's WebRTC transport, and the same end-to-end window (WEBRTC_WINDOW_BYTES unacknowledged at
 * most; the receiver acknowledges what it consumed as a text message): without one the pump stalls
 * for good here after ~32 MiB of 1 MiB messages, since SCTP flow control stops short of JavaScript
 * (lib/peer/webrtc/ack-window.ts). No framing, hashing or disk: what the data channel itself
 * carries between the two endpoints on this machine.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import nodeDataChannel from 'node-datachannel';
import type { DescriptionType } from 'node-datachannel';
import { WEBRTC_HIGH_WATER_BYTES, WEBRTC_LOW_WATER_BYTES } from '../../lib/peer/transport-webrtc.ts';
import { WEBRTC_ACK_EVERY_BYTES, WEBRTC_WINDOW_BYTES } from '../../lib/peer/webrtc/ack-window.ts';
import type { RunGuard } from './run-guard.ts';

const RECEIVER = fileURLToPath(new URL('./rtc-pump-receiver.ts', import.meta.url));
/**
 * The node's transport re-checks back-pressure this often while frames wait, because node-datachannel
 * can fail to fire `bufferedamountlow` (seen here with 1 MiB messages: the pump stalls for good without
 * it); the pump does the same, so that the ceiling is not lower than what the node can do.
 */
const BACKPRESSURE_RECHECK_MS = 50;
/** A pump that takes longer than this is broken, not slow. */
const PUMP_TIMEOUT_MS = Number(process.env.PUMP_TIMEOUT_MS ?? 120_000);

export interface PumpResult {
  bytes: number;
  ms: number;
  messageBytes: number;
  /** From creating the offer to the channel open at the sender, ms. */
  setupMs: number;
}

/** A signalling message between the two ends: a description or one ICE candidate. */
export type PumpSignal = { sdp: string; type: DescriptionType } | { candidate: string; mid: string };

/** The receiving end of a pump: it answers the offer, acknowledges like the transport, and says when it has every byte. */
export interface PumpReceiver {
  /** Passes one of our signalling messages on. */
  deliver(signal: PumpSignal): void;
  /** Registers where the receiver's signalling messages go. */
  onSignal(handler: (signal: PumpSignal) => void): void;
  /** Resolves once the receiver has `total` bytes; rejects when the receiver fails. */
  done: Promise<void>;
  /** Bytes the receiver said it had so far (for the error of a pump that stalls), null when it does not say. */
  received(): number | null;
  close(): Promise<void>;
}

/** The default receiving end: a child process with node-datachannel, signalling as JSON lines on stdin/stdout. */
function childReceiver(guard: RunGuard, total: number, messageBytes: number): PumpReceiver {
  const child = spawn(process.execPath, ['--import', 'tsx', RECEIVER, String(total), String(messageBytes + 1024), String(WEBRTC_ACK_EVERY_BYTES)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const unregister = guard.onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let received = 0;
  let signalHandler: (signal: PumpSignal) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the pump receiver exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Partial<PumpSignal> & { received?: number; done?: number };
      if (message.received !== undefined) received = message.received;
      else if (message.done !== undefined) resolve();
      else signalHandler(message as PumpSignal);
    });
  });
  done.catch(() => {});
  const toChild = (value: unknown) => child.stdin.write(`${JSON.stringify(value)}\n`);
  return {
    deliver: toChild,
    onSignal: (handler) => void (signalHandler = handler),
    done,
    received: () => received,
    async close() {
      toChild({ stop: true });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      unregister();
    },
  };
}

/**
 * Timed from the channel opening at the sender to the receiver saying it has every byte.
 * `makeReceiver` is given the total bytes (whole messages) the receiver is to expect.
 */
export async function rawDataChannelPump(
  guard: RunGuard,
  bytes: number,
  messageBytes: number,
  makeReceiver: (total: number) => Promise<PumpReceiver> = async (total) => childReceiver(guard, total, messageBytes),
): Promise<PumpResult> {
  const messages = Math.ceil(bytes / messageBytes);
  const total = messages * messageBytes;
  const receiver = await makeReceiver(total);
  const pc = new nodeDataChannel.PeerConnection('pump-sender', { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize: messageBytes + 1024 });
  let timer: NodeJS.Timeout | undefined;
  let recheck: NodeJS.Timeout | undefined;
  try {
    return await new Promise<PumpResult>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the raw data-channel pump did not finish within ${PUMP_TIMEOUT_MS} ms (${sent} of ${messages} messages sent, ${receiver.received() ?? 'unknown'} bytes received)`)),
        PUMP_TIMEOUT_MS,
      );
      let openedAt = 0;
      let sent = 0;
      let acked = 0;
      const startedAt = performance.now();
      receiver.onSignal((message) => {
        // node-datachannel throws from these (once: "Got a remote candidate without ICE transport"),
        // and here that would end the whole suite: the pump fails instead, and so does its row.
        try {
          if ('sdp' in message) pc.setRemoteDescription(message.sdp, message.type);
          else pc.addRemoteCandidate(message.candidate, message.mid);
        } catch (err) {
          reject(new Error(`the raw pump's signalling failed: ${(err as Error).message}`));
        }
      });
      receiver.done.then(() => resolve({ bytes: total, ms: performance.now() - openedAt, messageBytes, setupMs: openedAt - startedAt }), reject);
      pc.onLocalDescription((sdp, type) => receiver.deliver({ sdp, type }));
      pc.onLocalCandidate((candidate, mid) => receiver.deliver({ candidate, mid }));
      const channel = pc.createDataChannel('pump');
      const payload = randomFillSync(Buffer.allocUnsafe(messageBytes));
      const pump = () => {
        while (sent < messages && channel.bufferedAmount() < WEBRTC_HIGH_WATER_BYTES && (sent + 1) * messageBytes - acked <= WEBRTC_WINDOW_BYTES) {
          channel.sendMessageBinary(payload);
          sent += 1;
        }
      };
      channel.setBufferedAmountLowThreshold(WEBRTC_LOW_WATER_BYTES);
      channel.onBufferedAmountLow(pump);
      channel.onMessage((message) => {
        if (typeof message === 'string') {
          acked = Number(message);
          pump();
        }
      });
      channel.onError((err) => reject(new Error(`raw data channel: ${err}`)));
      channel.onOpen(() => {
        openedAt = performance.now();
        recheck = setInterval(pump, BACKPRESSURE_RECHECK_MS);
        pump();
      });
    });
  } finally {
    clearTimeout(timer);
    clearInterval(recheck);
    pc.close();
    await receiver.close();
  }
}
