import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_CONNECTIONS_PER_ADDRESS } from '../../lib/peer/limits.ts';
import { putShared, randomFile, readShared } from '../support/files.ts';
import { envelope, frame, RawSocket, standardHandshake, standardPeerId } from '../support/raw-socket.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * Many kinds of abuse at once against one seeding node, while an honest node downloads from it: every
 * abuse hits a limit that is logged with its reason, and the honest download completes byte-identical.
 * Attackers that need their own address use 127.0.0.9 (all of 127/8 is loopback), so the per-address
 * limit they hit is not the honest peer's.
 */
const ATTACKER_ADDRESS = '127.0.0.9';
const SHORT_HANDSHAKE_MS = 3_000;
const file = randomFile(24 * 1024 * 1024);
let target: TestNode;
let honest: TestNode;
const attackers: { destroy(): void }[] = [];

beforeAll(async () => {
  const dir = await makeTempDir();
  await putShared(dir, 'payload.bin', file.data);
  target = await startTestNode({ dir, name: 'target' }, { connectionTimings: { handshakeTimeoutMs: SHORT_HANDSHAKE_MS } });
  await waitFor(() => target.library.get(file.fileId), 30_000, 'the file to be indexed');
});

afterAll(async () => {
  for (const a of attackers.splice(0)) a.destroy();
  await Promise.all([target?.close(), honest?.close()]);
  await removeTempDirs();
});

async function handshaken(): Promise<{ raw: RawSocket; id: string }> {
  const id = standardPeerId();
  const raw = await RawSocket.connect(target.tcpPort);
  attackers.push(raw);
  await raw.write(frame(JSON.stringify(standardHandshake(id))));
  await waitFor(() => raw.frames.find((f) => f.type === 'handshake'), 10_000, 'the handshake response');
  return { raw, id };
}

function chunkRequests(id: string, fileId: string, count: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const request = envelope('file_chunk_request', id, { recipient_id: target.peer.id, content: { file_id: fileId, chunk_index: i % 24 } });
    frames.push(frame(JSON.stringify(request)));
  }
  return Buffer.concat(frames);
}

function connectFrom(address: string, port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: address }, () => resolve(socket));
    socket.on('error', () => resolve(socket));
    attackers.push(socket);
  });
}

describe('a seeder under attack keeps serving an honest downloader', () => {
  it('limits every abuse with a logged reason while the honest download completes byte-identical', async () => {
    // 1. A flood of chunk requests that never reads what it asked for: the per-peer queue is bounded
    //    and the unread replies are held back by the socket's back-pressure, not buffered without end.
    const greedy = await handshaken();
    greedy.raw.socket.pause();
    await greedy.raw.write(chunkRequests(greedy.id, file.fileId, 4_000));

    // 2. A message flood of requests for files that were never shared: over the per-peer rate it is
    //    dropped, then the connection is closed as a flood.
    const flooder = await handshaken();
    void flooder.raw.write(chunkRequests(flooder.id, 'f'.repeat(64), 60_000)).catch(() => {});

    // 3. Pings sent without ever reading the pongs: what waits to be sent to it is bounded.
    const pinger = await handshaken();
    pinger.raw.socket.pause();
    const ping = frame(JSON.stringify(envelope('ping', pinger.id, { recipient_id: target.peer.id })));
    void pinger.raw.write(Buffer.concat(Array.from({ length: 150_000 }, () => ping))).catch(() => {});

    // 4. Slow-loris on TCP: a handshake written a byte every 200 ms, and many idle sockets from one address.
    const slow = await RawSocket.connect(target.tcpPort);
    attackers.push(slow);
    const slowBytes = frame(JSON.stringify(standardHandshake(standardPeerId())));
    void (async () => {
      for (const byte of slowBytes) {
        if (slow.closed) return;
        await slow.write(Uint8Array.of(byte)).catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS + 20 }, () => connectFrom(ATTACKER_ADDRESS, target.tcpPort)));

    // 5. Slow-loris on /signal: many sockets from one address that never join.
    const signalSockets = Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS + 10 }, () => {
      const ws = new WebSocket(target.signalUrl, { localAddress: ATTACKER_ADDRESS });
      ws.on('error', () => {});
      attackers.push({ destroy: () => ws.terminate() });
      return ws;
    });

    // The honest downloader arrives in the middle of all that.
    honest = await startTestNode({ name: 'honest', connect: [at(target)] });
    await waitForOffer(honest, file.fileId, 20_000, 'the honest node to see the file');
    const started = await honest.api('/api/files/download', { body: { file_id: file.fileId } });
    expect(started.status).toBe(200);
    const transfer = await waitForTransferDone(honest, started.body.transfer.transfer_id, 90_000, 'the honest download to complete');
    expect(transfer.bytes_received).toBe(file.data.length);
    expect((await readShared(honest.dir, 'payload.bin')).equals(file.data)).toBe(true);

    // Each abuse hit its limit, with a reason in the log.
    const queued = await target.waitForLog((l) => l.msg === 'dropping chunk requests: too many queued');
    expect(String(queued.reason)).toMatch(/512 requests/);
    const flood = await target.waitForLog((l) => l.msg === 'closed a flooding connection', 20_000);
    expect(String(flood.reason)).toMatch(/messages\/s/);
    expect(await flooder.raw.closedWithin(10_000)).toBe(true);
    const nonReader = await target.waitForLog((l) => l.msg === 'closed a connection that does not read', 30_000);
    expect(String(nonReader.reason)).toMatch(/without reading \(limit 4096\)/);
    expect(await slow.closedWithin(SHORT_HANDSHAKE_MS + 10_000)).toBe(true);
    await target.waitForLog((l) => l.msg === 'connection closed' && /no handshake completed/.test(String(l.reason)), 10_000);
    const refusedTcp = await target.waitForLog((l) => l.msg === 'refused a TCP connection');
    expect(String(refusedTcp.reason)).toMatch(new RegExp(`${MAX_CONNECTIONS_PER_ADDRESS} connections from ${ATTACKER_ADDRESS.replace(/\./g, '\\.')}`));
    expect(idle.filter((s) => s.destroyed || s.closed).length).toBeGreaterThanOrEqual(20);
    const refusedSignal = await target.waitForLog((l) => l.msg === 'refused a signalling socket');
    expect(String(refusedSignal.reason)).toMatch(/limit per address/);
    expect(signalSockets.length).toBe(MAX_CONNECTIONS_PER_ADDRESS + 10);

    // The greedy peer was held to the queue limit and the node is still alive and answering.
    expect((await target.api('/api/status')).status).toBe(200);
    expect(target.peer.connectionTo(honest.peer.id)).toBeDefined();
  });
});
