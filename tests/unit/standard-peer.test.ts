/**
 * The harness's own tests: StandardPeer against the captured reference frames, and two (or three)
 * StandardPeers talking over loopback. If these pass, a failure of our node against StandardPeer
 * points at the node, not the harness.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkEnvelope, encodeFrame, FrameDecoder, MAX_FRAME_BYTES, pythonJsonDumps, StandardPeer,
  type Envelope, type StandardConnection, type StandardPeerOptions,
} from '../support/standard-peer.ts';
import { sha256Hex } from '../support/files.ts';

const FIXTURES = '/work/shared/fixtures';
const VECTOR_SHA256 = 'e46999edd27683296e5feb5d7d29adb4db20557753fd76ad4d6fc5ba03c9f877';
const KIB = 1024;
const MIB = 1024 * KIB;

interface FixtureLine { dir: 'from_reference_peer' | 'to_reference_peer'; length: number; frame: Envelope }
const fixtureLines: FixtureLine[] = readFileSync(`${FIXTURES}/standard-frames.jsonl`, 'utf8')
  .split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as FixtureLine);
const fromReference = fixtureLines.filter((l) => l.dir === 'from_reference_peer');
const fixtureOf = (type: string, broadcast = false): Envelope =>
  fixtureLines.find((l) => l.frame.type === type && (l.frame.recipient_id === null) === broadcast)!.frame;
/** The capture's clock: the reference peer drops anything 300 s away from it, and the capture is days old. */
const captureTimeMs = Math.max(...fixtureLines.map((l) => l.frame.timestamp)) * 1000;

/** Splits a buffer at irregular points so frames arrive split and coalesced. */
function irregularPieces(data: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, step = 1; at < data.length; at += step, step = (step * 7 + 3) % 997 + 1) pieces.push(data.subarray(at, at + step));
  return pieces;
}

const started: StandardPeer[] = [];
const rawSockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await Promise.all(started.splice(0).map((p) => p.close()));
});

async function startPeer(options: StandardPeerOptions = {}): Promise<StandardPeer> {
  const peer = await StandardPeer.start(options);
  started.push(peer);
  return peer;
}

/** `dialler` dials `acceptor` and both wait until each has registered the other. */
async function link(dialler: StandardPeer, acceptor: StandardPeer): Promise<StandardConnection> {
  const conn = await dialler.dial('127.0.0.1', acceptor.port);
  await dialler.waitFor(() => conn.state === 'open', undefined, 'handshake response');
  await acceptor.waitFor(() => acceptor.connectedPeerIds().includes(dialler.id), undefined, 'inbound handshake');
  return conn;
}

async function rawConnect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  rawSockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

describe('codec against the captured frames', () => {
  it('serialises every captured frame to exactly its captured length (Python json.dumps defaults)', () => {
    expect(fixtureLines).toHaveLength(10);
    for (const { length, frame } of fixtureLines) {
      expect(Buffer.byteLength(pythonJsonDumps(frame))).toBe(length);
      expect(encodeFrame(frame).readUInt32BE(0)).toBe(length);
      // Compact JSON would not match: the prefix really is Python's ", " / ": " form.
      expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThan(length);
    }
  });

  it('matches Python json.dumps on escapes, floats and nesting', () => {
    const value = { a: 'é😀\u007f\u0001\n"\\/', timestamp: 5, n: [1, 2.5, null, true, {}], e: [] };
    // Output of python3 -c 'import json; print(json.dumps(...))' on the same value.
    expect(pythonJsonDumps(value)).toBe(
      '{"a": "\\u00e9\\ud83d\\ude00\\u007f\\u0001\\n\\"\\\\/", "timestamp": 5.0, "n": [1, 2.5, null, true, {}], "e": []}',
    );
  });

  it('decodes all frames from a split and coalesced stream', () => {
    const stream = Buffer.concat(fixtureLines.map((l) => encodeFrame(l.frame)));
    const decoder = new FrameDecoder();
    const payloads = irregularPieces(stream).flatMap((piece) => decoder.push(piece));
    expect(payloads.map((p) => JSON.parse(p.toString('utf8')))).toEqual(fixtureLines.map((l) => l.frame));
  });

  it('rejects a frame announced over 10 MiB', () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(prefix)).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
    prefix.writeUInt32BE(MAX_FRAME_BYTES, 0);
    expect(new FrameDecoder().push(prefix)).toEqual([]);
  });

  it('accepts every from_reference_peer frame at capture time, and applies the three drop rules', () => {
    for (const { frame } of fromReference) expect(checkEnvelope(frame, captureTimeMs / 1000)).toMatchObject({ ok: true });
    const ping = fixtureOf('ping');
    expect(checkEnvelope(ping, ping.timestamp + 301)).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(checkEnvelope(ping, ping.timestamp - 299)).toMatchObject({ ok: true });
    expect(checkEnvelope({ ...ping, type: 'have' }, ping.timestamp)).toEqual({ ok: false, reason: 'unknown-type' });
    expect(checkEnvelope({ ...ping, message_id: undefined }, ping.timestamp)).toEqual({ ok: false, reason: 'not-an-envelope' });
  });

  it('decodes the captured chunk to exactly the test vector', () => {
    const vector = readFileSync(`${FIXTURES}/standard-vector.txt`);
    expect(sha256Hex(vector)).toBe(VECTOR_SHA256);
    const chunk = fixtureOf('file_chunk');
    const data = Buffer.from(chunk.content!.data as string, 'base64');
    expect(data.equals(vector)).toBe(true);
    const manifest = fixtureOf('file_manifest').content!;
    expect(manifest).toMatchObject({ file_id: VECTOR_SHA256, checksum: VECTOR_SHA256, file_size: vector.length, chunk_count: 1 });
  });
});

describe('StandardPeer receiving the captured reference frames over TCP', () => {
  it('accepts them all as acceptor, answers the handshake, and drops replays as duplicates', async () => {
    const peer = await startPeer({ now: () => captureTimeMs });
    const socket = await rawConnect(peer.port);
    const answers: Envelope[] = [];
    const decoder = new FrameDecoder();
    socket.on('data', (d: Buffer) => answers.push(...decoder.push(d).map((p) => JSON.parse(p.toString('utf8')) as Envelope)));
    const stream = Buffer.concat(fromReference.map((l) => encodeFrame(l.frame)));
    for (const piece of irregularPieces(stream)) socket.write(piece);

    await peer.waitFor(() => peer.received.length === fromReference.length, undefined, 'all reference frames');
    expect(peer.dropped).toEqual([]);
    expect(peer.received.map((r) => r.envelope)).toEqual(fromReference.map((l) => l.frame));
    expect(peer.connectedPeerIds()).toEqual([fixtureOf('handshake').sender_id]);
    expect(peer.manifests.get(VECTOR_SHA256)?.file_name).toBe('vector.txt');
    await peer.waitFor(() => answers.find((a) => a.type === 'handshake'), undefined, 'handshake response');
    expect(answers[0]!.content).toEqual({ address: '127.0.0.1', port: peer.port, public_key: null, handshake_response: true });

    socket.write(stream);
    await peer.waitFor(() => peer.dropped.length === fromReference.length, undefined, 'replays dropped');
    expect(new Set(peer.dropped.map((d) => d.reason))).toEqual(new Set(['duplicate-message-id']));
  });

  it('drops them as stale with the real clock, and drops bad JSON and unknown types', async () => {
    const peer = await startPeer();
    const socket = await rawConnect(peer.port);
    socket.write(encodeFrame(fixtureOf('pong')));
    const badJson = Buffer.from('{"version": ');
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(badJson.length, 0);
    socket.write(Buffer.concat([prefix, badJson]));
    socket.write(encodeFrame({ ...peer.createEnvelope('ping'), type: 'bitfield' }));
    await peer.waitFor(() => peer.dropped.length === 3, undefined, 'three drops');
    expect(peer.dropped.map((d) => d.reason)).toEqual(['stale-timestamp', 'invalid-json', 'unknown-type']);
    expect(peer.received).toEqual([]);
  });

  it('closes a connection that announces a frame over 10 MiB', async () => {
    const peer = await startPeer();
    const socket = await rawConnect(peer.port);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    socket.write(prefix);
    await peer.waitFor(() => peer.connections[0]?.state === 'closed', undefined, 'connection closed');
    expect(peer.dropped.map((d) => d.reason)).toEqual(['frame-too-large']);
  });
});

describe('two StandardPeers over loopback', () => {
  it('handshakes in both roles, with frames shaped like the captured ones', async () => {
    const file = { name: 'a.bin', data: randomBytes(1000) };
    const a = await startPeer({ sharedFiles: [file] });
    const b = await startPeer({ sharedFiles: [{ name: 'b.bin', data: randomBytes(10) }] });
    const conn = await link(a, b);
    expect(conn.role).toBe('dialler');
    expect(conn.remotePeerId).toBe(b.id);
    expect(b.connections[0]!.role).toBe('acceptor');
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-[0-9a-f]{16}$/);
    // Each side sends its manifests: the acceptor after its response, the dialler on the response.
    await a.waitFor(() => a.manifests.size === 1 && b.manifests.size === 1, undefined, 'manifests both ways');
    expect(b.manifests.get(sha256Hex(file.data))).toEqual({
      file_id: sha256Hex(file.data), file_name: 'a.bin', file_size: 1000, chunk_size: MIB, chunk_count: 1, checksum: sha256Hex(file.data), owner: a.id,
    });
    const [hello, response] = [a.sentFrames[0]!.envelope, b.sentFrames[0]!.envelope];
    expect(hello.content).toEqual({ address: '127.0.0.1', port: a.port, public_key: null, handshake_response: false });
    expect(response.content).toMatchObject({ handshake_response: true, port: b.port });
    for (const sent of [...a.sentFrames, ...b.sentFrames]) {
      expect(Object.keys(sent.envelope)).toEqual(Object.keys(fixtureOf(sent.envelope.type)));
      expect(Object.keys(sent.envelope.content!)).toEqual(Object.keys(fixtureOf(sent.envelope.type).content!));
      expect(sent.length).toBe(Buffer.byteLength(pythonJsonDumps(sent.envelope)));
    }
  });

  it('sends direct texts both ways and broadcasts to every peer with recipient_id null', async () => {
    const [a, b, c] = await Promise.all([startPeer(), startPeer(), startPeer()]);
    await link(b, a);
    await link(c, a);
    const direct = a.sendText('to b only', b.id);
    const reply = b.sendText('to a', a.id);
    const broadcast = a.sendText('to everyone', null);
    await b.waitFor(() => b.texts.length === 2, undefined, 'b texts');
    await c.waitFor(() => c.texts.length === 1, undefined, 'c texts');
    await a.waitFor(() => a.texts.length === 1, undefined, 'a texts');
    expect(b.texts.map((t) => t.content!.text)).toEqual(['to b only', 'to everyone']);
    expect(c.texts[0]!.message_id).toBe(broadcast.message_id);
    expect(a.texts[0]!.message_id).toBe(reply.message_id);
    expect(direct.recipient_id).toBe(b.id);
    expect(Object.keys(broadcast)).toEqual(Object.keys(fixtureOf('text', true)));
    expect(Object.keys(direct)).toEqual(Object.keys(fixtureOf('text')));
    expect(b.texts[1]!.recipient_id).toBeNull();
    expect(() => a.sendText('x'.repeat(10_001), null)).toThrow(expect.objectContaining({ code: 'TEXT_TOO_LONG' }));
    expect(() => a.sendText('x', 'nobody')).toThrow(expect.objectContaining({ code: 'PEER_NOT_CONNECTED' }));
  });

  it('pings with recipient_id and no content, and answers pong', async () => {
    const a = await startPeer({ pingIntervalMs: 50 });
    const b = await startPeer();
    await link(a, b);
    const ping = await b.waitFor(() => b.received.find((r) => r.envelope.type === 'ping'), undefined, 'ping')
      .then((r) => r.envelope);
    expect(ping.recipient_id).toBe(b.id);
    expect('content' in ping).toBe(false);
    const pong = await a.waitFor(() => a.received.find((r) => r.envelope.type === 'pong'), undefined, 'pong')
      .then((r) => r.envelope);
    expect(pong).toMatchObject({ recipient_id: a.id, sender_id: b.id });
    expect(Object.keys(pong)).toEqual(Object.keys(fixtureOf('pong')));
  });

  it('drops a connection on which nothing arrives for idleTimeoutMs', async () => {
    const a = await startPeer({ idleTimeoutMs: 200 });
    const b = await startPeer();
    const conn = await link(a, b);
    await a.waitFor(() => conn.state === 'closed', undefined, 'idle close');
    expect(conn.closeReason).toBe('idle timeout');
    await b.waitFor(() => b.connectedPeerIds().length === 0, undefined, 'remote sees the close');
  });
});

describe('file transfer between StandardPeers', () => {
  for (const chunkSize of [MIB, 64 * KIB]) {
    it(`downloads a 3 MB file in ${chunkSize / KIB} KiB chunks, verifies it and announces availability`, async () => {
      const data = randomBytes(3_000_000);
      const owner = await startPeer({ chunkSize, sharedFiles: [{ name: 'big.bin', data }] });
      const fetcher = await startPeer(); // its own chunk size (1 MiB) must not matter
      await link(fetcher, owner);
      const fileId = sha256Hex(data);
      await fetcher.waitFor(() => fetcher.manifests.get(fileId), undefined, 'manifest');
      expect(fetcher.manifests.get(fileId)!.chunk_count).toBe(Math.ceil(3_000_000 / chunkSize));

      const got = await fetcher.download(fileId);
      expect(got.equals(data)).toBe(true);
      const requests = fetcher.sentFrames.filter((f) => f.envelope.type === 'file_chunk_request');
      expect(requests.map((r) => r.envelope.content!.chunk_index)).toEqual([...Array(Math.ceil(3_000_000 / chunkSize)).keys()]);
      expect(Object.keys(requests[0]!.envelope)).toEqual(Object.keys(fixtureOf('file_chunk_request')));
      const availability = await owner.waitFor(() => owner.received.find((r) => r.envelope.type === 'file_availability'), undefined, 'availability');
      expect(availability.envelope.content).toEqual({ file_id: fileId, peers: [fetcher.id] });
    });
  }

  it('downloads an empty file as one empty chunk', async () => {
    const owner = await startPeer({ sharedFiles: [{ name: 'empty', data: Buffer.alloc(0) }] });
    const fetcher = await startPeer();
    await link(fetcher, owner);
    const fileId = sha256Hex(Buffer.alloc(0));
    await fetcher.waitFor(() => fetcher.manifests.get(fileId), undefined, 'manifest');
    expect(fetcher.manifests.get(fileId)!.chunk_count).toBe(1);
    expect((await fetcher.download(fileId)).length).toBe(0);
  });

  it('keeps 3 requests in flight, retries unanswered ones, then fails', async () => {
    const data = randomBytes(5 * 64 * KIB);
    const owner = await startPeer({ chunkSize: 64 * KIB, sharedFiles: [{ name: 'f', data }] });
    const silent = await startPeer(); // does not have the file, so never answers
    const fetcher = await startPeer({ chunkRequestTimeoutMs: 100, chunkAttempts: 2 });
    await link(fetcher, owner);
    await link(fetcher, silent);
    const fileId = sha256Hex(data);
    await fetcher.waitFor(() => fetcher.manifests.get(fileId), undefined, 'manifest');
    const download = fetcher.download(fileId, silent.id);
    const requested = (): unknown[] => fetcher.sentFrames.filter((f) => f.envelope.type === 'file_chunk_request').map((f) => f.envelope.content!.chunk_index);
    expect(requested()).toEqual([0, 1, 2]);
    await expect(download).rejects.toMatchObject({ code: 'CHUNK_TIMEOUT' });
    expect(requested()).toEqual([0, 1, 2, 0, 1, 2]);
    expect(silent.sentFrames.some((f) => f.envelope.type === 'file_chunk')).toBe(false);
  });

  it('rejects chunk data over 2 MiB of base64 but takes a 1.5 MiB chunk', async () => {
    const small = randomBytes(1.5 * MIB);
    const large = randomBytes(1.75 * MIB);
    const okOwner = await startPeer({ chunkSize: 1.5 * MIB, sharedFiles: [{ name: 'ok', data: small }] });
    const badOwner = await startPeer({ chunkSize: 1.75 * MIB, sharedFiles: [{ name: 'bad', data: large }] });
    const fetcher = await startPeer({ chunkRequestTimeoutMs: 300, chunkAttempts: 1 });
    await link(fetcher, okOwner);
    await link(fetcher, badOwner);
    await fetcher.waitFor(() => fetcher.manifests.size === 2, undefined, 'manifests');
    expect((await fetcher.download(sha256Hex(small))).equals(small)).toBe(true);
    await expect(fetcher.download(sha256Hex(large))).rejects.toMatchObject({ code: 'CHUNK_TIMEOUT' });
    expect(fetcher.dropped.map((d) => d.reason)).toEqual(['chunk-data-too-large']);
  });

  it('fails a download whose bytes do not match the manifest checksum', async () => {
    const data = randomBytes(2000);
    const owner = await startPeer({ sharedFiles: [{ name: 'f', data }] });
    const fetcher = await startPeer();
    const conn = await link(owner, fetcher);
    const fileId = sha256Hex(data);
    await fetcher.waitFor(() => fetcher.manifests.get(fileId), undefined, 'manifest');
    const forged = { ...fetcher.manifests.get(fileId)!, checksum: '0'.repeat(64) };
    owner.sendEnvelope(conn, owner.createEnvelope('file_manifest', { ...forged }));
    await fetcher.waitFor(() => fetcher.manifests.get(fileId)?.checksum === forged.checksum, undefined, 'forged manifest');
    await expect(fetcher.download(fileId)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });

  it('announces a newly shared file to every connection', async () => {
    const [a, b, c] = await Promise.all([startPeer(), startPeer(), startPeer()]);
    await link(b, a);
    await link(c, a);
    const manifest = a.share('late.txt', Buffer.from('shared later'));
    await b.waitFor(() => b.manifests.get(manifest.file_id), undefined, 'b manifest');
    await c.waitFor(() => c.manifests.get(manifest.file_id), undefined, 'c manifest');
    expect((await c.download(manifest.file_id)).toString()).toBe('shared later');
  });
});

describe('defect switches', () => {
  it('acceptorIgnoresHandshake: the dialler gets no response; dialling both ways works', async () => {
    const faulty = await startPeer({ defects: { acceptorIgnoresHandshake: true }, sharedFiles: [{ name: 'f', data: randomBytes(10) }] });
    const robust = await startPeer();
    const inbound = await robust.dial('127.0.0.1', faulty.port);
    // Frames are handled in order: once the pong to a later ping is back, a response would have come first.
    robust.sendEnvelope(inbound, robust.createEnvelope('ping', undefined, faulty.id));
    await robust.waitFor(() => robust.received.some((r) => r.envelope.type === 'pong'), undefined, 'pong');
    expect(robust.received.map((r) => r.envelope.type)).toEqual(['pong']);
    expect(inbound.state).toBe('handshaking');
    expect(robust.manifests.size).toBe(0);

    await link(faulty, robust);
    await robust.waitFor(() => robust.manifests.size === 1, undefined, 'manifest over the second connection');
    faulty.sendText('hello', robust.id);
    robust.sendText('hi', faulty.id);
    await robust.waitFor(() => robust.texts.length === 1 && faulty.texts.length === 1, undefined, 'texts both ways');
  });

  it('dropWhenResponseAdvertisesDialledAddress: closes on "127.0.0.1", keeps "localhost"', async () => {
    const faulty = await startPeer({ defects: { dropWhenResponseAdvertisesDialledAddress: true } });
    const literal = await startPeer({ advertiseAddress: '127.0.0.1' });
    const named = await startPeer({ advertiseAddress: 'localhost', sharedFiles: [{ name: 'f', data: randomBytes(10) }] });

    const dropped = await faulty.dial('127.0.0.1', literal.port);
    await faulty.waitFor(() => dropped.state === 'closed', undefined, 'defect close');
    expect(dropped.closeReason).toMatch(/dialled address/);
    await literal.waitFor(() => literal.connections[0]?.state === 'closed', undefined, 'acceptor sees the close');

    const kept = await link(faulty, named);
    await faulty.waitFor(() => faulty.manifests.size === 1, undefined, 'manifest');
    expect(kept.state).toBe('open');
    expect(kept.remoteHandshake).toMatchObject({ address: 'localhost' });
  });

  it('duplicateBroadcasts: broadcasts on every socket to a peer and records texts twice', async () => {
    const faulty = await startPeer({ defects: { duplicateBroadcasts: true } });
    const plain = await startPeer();
    const other = await startPeer();
    for (const sender of [faulty, plain]) {
      await link(sender, other);
      await link(other, sender);
    }
    const fromFaulty = faulty.sendText('twice', null);
    const fromPlain = plain.sendText('once', null);
    expect(faulty.sentFrames.filter((f) => f.envelope.message_id === fromFaulty.message_id)).toHaveLength(2);
    expect(plain.sentFrames.filter((f) => f.envelope.message_id === fromPlain.message_id)).toHaveLength(1);
    await other.waitFor(() => other.texts.length === 2 && other.dropped.length === 1, undefined, 'texts and the duplicate');
    expect(other.dropped[0]).toMatchObject({ reason: 'duplicate-message-id', frame: { message_id: fromFaulty.message_id } });

    const direct = other.sendText('logged twice', faulty.id);
    await faulty.waitFor(() => faulty.texts.length === 2, undefined, 'text recorded twice');
    expect(faulty.texts.map((t) => t.message_id)).toEqual([direct.message_id, direct.message_id]);
  });
});

describe('close', () => {
  it('closes everything, fails pending downloads, and is safe to call twice', async () => {
    const data = randomBytes(1000);
    const owner = await startPeer({ sharedFiles: [{ name: 'f', data }] });
    const fetcher = await startPeer();
    await link(fetcher, owner);
    await fetcher.waitFor(() => fetcher.manifests.size === 1, undefined, 'manifest');
    const pending = fetcher.download(sha256Hex(data), 'not-connected-yet');
    await expect(pending).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' });

    const silent = await startPeer();
    await link(fetcher, silent);
    const stuck = fetcher.download(sha256Hex(data), silent.id);
    await Promise.all([fetcher.close(), fetcher.close()]);
    await expect(stuck).rejects.toMatchObject({ code: 'CLOSED' });
    expect(fetcher.connections.every((c) => c.state === 'closed')).toBe(true);
    await owner.waitFor(() => owner.connectedPeerIds().length === 0, undefined, 'owner sees the close');
  });
});
