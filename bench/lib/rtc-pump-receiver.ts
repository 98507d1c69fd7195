/**
 * The receiving end of the raw node-datachannel pump (bench/lib/rtc-pump.ts), in its own process
 * like a downloading node. Signalling is one JSON line per message on stdin/stdout; it prints
 * {"done":bytes} once it has received the number of bytes given as its one argument.
 */
import { createInterface } from 'node:readline';
import nodeDataChannel from 'node-datachannel';
import type { DescriptionType } from 'node-datachannel';

const expected = Number(process.argv[2]);
const maxMessageSize = Number(process.argv[3]);
/** Acknowledge the bytes consumed so far (a text message) every this many bytes. */
const ackEveryBytes = Number(process.argv[4]);
/** The receiver says how far it got every this many bytes (for a pump that stalls). */
const PROGRESS_BYTES = 8 * 1024 * 1024;
const send = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const pc = new nodeDataChannel.PeerConnection('pump-receiver', { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize });
pc.onLocalDescription((sdp, type) => send({ sdp, type }));
pc.onLocalCandidate((candidate, mid) => send({ candidate, mid }));
pc.onDataChannel((channel) => {
  let received = 0;
  let acked = 0;
  channel.onMessage((message) => {
    received += typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
    if (received - acked >= ackEveryBytes) {
      acked = received;
      channel.sendMessage(String(received));
    }
    if (received >= expected) send({ done: received });
    else if (received % PROGRESS_BYTES < (typeof message === 'string' ? message.length : message.byteLength)) send({ received });
  });
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line) as { sdp?: string; type?: DescriptionType; candidate?: string; mid?: string; stop?: true };
  if (message.sdp && message.type) pc.setRemoteDescription(message.sdp, message.type);
  else if (message.candidate && message.mid !== undefined) pc.addRemoteCandidate(message.candidate, message.mid);
  else if (message.stop) {
    pc.close();
    nodeDataChannel.cleanup();
    process.exit(0);
  }
});
