import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { putShared, randomFile, readShared, sha256Hex } from '../support/files.ts';
import { StandardPeer } from '../support/standard-peer.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForOffer, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * One swarm of three kinds, node side: a standard socket peer S (TCP only), a node N linked to S over
 * TCP, and a WebRTC-only node W (--no-tcp, bootstrapped from N's /signal) standing in for a browser,
 * which speaks the same swarm protocol. W never links to S: N bridges files and relays messages.
 */
const nodes: TestNode[] = [];
const standards: StandardPeer[] = [];
afterEach(async () => {
  await Promise.all([...nodes.splice(0).map((n) => n.close()), ...standards.splice(0).map((p) => p.close())]);
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

async function node(overrides: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode> {
  const n = await startTestNode(overrides);
  nodes.push(n);
  return n;
}

async function seeder(
  name: string,
  fileName: string,
  data: Buffer,
  overrides: Parameters<typeof startTestNode>[0] = {},
) {
  const dir = await makeTempDir();
  await putShared(dir, fileName, data);
  return node({ dir, name, ...overrides });
}

/** Starts a download once the file is offered by `peerCount` peers, and waits for it to complete. */
async function downloadAt(n: TestNode, fileId: string, peerCount = 1) {
  await waitForOffer(n, fileId, 45_000, `the file offered to ${n.config.name} by ${peerCount} peer(s)`, peerCount);
  const started = await n.api('/api/files/download', { body: { file_id: fileId } });
  expect(started.status).toBe(200);
  return waitForTransferDone(n, started.body.transfer.transfer_id, 90_000, `the download at ${n.config.name}`);
}

describe('a mixed swarm: standard peer, bridging node, WebRTC-only swarm peer', () => {
  it('moves files both ways through the node and carries chat both ways, each message once and unchanged', async () => {
    const fromStandard = randomFile(2 * 1024 * 1024 + 4321);
    const fromSwarm = randomFile(3 * 1024 * 1024 + 77);
    const s = await StandardPeer.start({
      sharedFiles: [{ name: 'from-standard.bin', data: fromStandard.data }],
    });
    standards.push(s);
    const n = await node({ name: 'N' });
    await n.peer.connect('127.0.0.1', s.port);
    const w = await seeder('W', 'from-swarm.bin', fromSwarm.data, { noTcp: true, bootstrap: [n.signalUrl] });
    await waitFor(() => w.peer.connectionTo(n.peer.id), 45_000, 'W linked to N over WebRTC');
    expect(w.peer.connectionTo(s.id)).toBeUndefined();

    // The peers view says how each peer is reached: S directly over TCP at N, through N at W.
    const sAtW = await waitFor(
      async () => (await w.api('/api/peers')).body.peers.find((p: any) => p.peer_id === s.id),
      10_000,
      'S listed at W',
    );
    expect(sAtW).toMatchObject({
      status: 'online',
      metadata: { kind: 'standard', transport: 'relay', via: n.peer.id },
    });
    const atN = (await n.api('/api/peers/connected')).body.peers;
    expect(atN.find((p: any) => p.peer_id === s.id).metadata).toMatchObject({
      kind: 'standard',
      transport: 'tcp',
      via: null,
    });
    expect(atN.find((p: any) => p.peer_id === w.peer.id).metadata).toMatchObject({
      kind: 'node',
      transport: 'webrtc',
      via: null,
    });

    // standard -> swarm: N offers S's file to W, fetches it from S on W's first request, checks the
    // whole file (S sends no chunk hashes) and only then serves it.
    const toW = await downloadAt(w, fromStandard.fileId);
    expect(toW.peers_used).toEqual([n.peer.id]);
    expect((await readShared(w.dir, 'from-standard.bin')).equals(fromStandard.data)).toBe(true);
    expect(n.logs.some((l) => l.msg === 'fetching a bridged file for a peer that asked for it')).toBe(true);

    // swarm -> standard: N announces W's file to S (a plain 1 MiB standard manifest) and serves S's
    // requests with chunks it fetches from W, verified against W's chunk hashes.
    const manifest = await s.waitFor(
      () => s.manifests.get(fromSwarm.fileId),
      20_000,
      "W's file announced to S",
    );
    expect(manifest).toEqual({
      file_id: fromSwarm.fileId,
      file_name: 'from-swarm.bin',
      file_size: fromSwarm.data.length,
      chunk_size: 1024 * 1024,
      chunk_count: 4,
      checksum: fromSwarm.fileId,
      owner: n.peer.id,
    });
    const atS = await s.download(fromSwarm.fileId);
    expect(sha256Hex(atS)).toBe(fromSwarm.fileId);

    const nConnAtS = s.connections.find((c) => c.remotePeerId === n.peer.id && c.state === 'open')!;
    const textsAtS = (id: string) => s.texts.filter((t) => t.message_id === id);
    const textsAt = (x: TestNode, id: string) =>
      x.history.list(500).filter((e) => e.payload.message_id === id);

    // W -> S, direct: relayed by N with the author's sender_id, message_id and timestamp, no swarm fields.
    const direct = await w.api('/api/messages', { body: { recipient_id: s.id, text: 'hello S from W' } });
    expect(direct.status).toBe(200);
    const sentDirect = w.history.get(direct.body.message_id)!.payload as any;
    await s.waitFor(() => textsAtS(sentDirect.message_id).length > 0, 10_000, 'the direct text at S');
    expect(textsAtS(sentDirect.message_id)).toEqual([
      {
        version: '1.0',
        type: 'text',
        sender_id: w.peer.id,
        message_id: sentDirect.message_id,
        timestamp: sentDirect.timestamp,
        recipient_id: s.id,
        content: { text: 'hello S from W' },
      },
    ]);
    expect(textsAt(n, sentDirect.message_id)).toHaveLength(0);

    // W broadcast: S and N each get it once.
    const wAll = await w.api('/api/messages', { body: { text: 'hello everyone from W' } });
    await s.waitFor(() => textsAtS(wAll.body.message_id).length > 0, 10_000, "W's broadcast at S");
    await waitFor(() => textsAt(n, wAll.body.message_id).length > 0, 10_000, "W's broadcast at N");
    expect(textsAtS(wAll.body.message_id)[0]).toMatchObject({ sender_id: w.peer.id, recipient_id: null });
    expect(textsAt(n, wAll.body.message_id)[0]!.authenticity).toBe('signed');

    // S -> W, direct: addressed to W's id, sent on S's connection to N.
    const toWEnvelope = s.createEnvelope('text', { text: 'hello W from S' }, w.peer.id);
    s.sendEnvelope(nConnAtS, toWEnvelope);
    await waitFor(() => w.history.get(toWEnvelope.message_id), 10_000, "S's direct text at W");
    // S broadcast: W and N each get it once.
    const sAll = s.sendText('hello everyone from S', null);
    await waitFor(() => textsAt(w, sAll.message_id).length > 0, 10_000, "S's broadcast at W");
    await waitFor(() => textsAt(n, sAll.message_id).length > 0, 10_000, "S's broadcast at N");

    for (const env of [toWEnvelope, sAll]) {
      const [entry, ...more] = textsAt(w, env.message_id);
      expect(more).toHaveLength(0);
      expect(entry!.payload).toMatchObject({
        sender_id: s.id,
        message_id: env.message_id,
        timestamp: env.timestamp,
        content: env.content,
      });
      // S cannot sign: W is told it has only N's word for it.
      expect(entry!.authenticity).toBe('unverified');
    }
    // Late copies would have arrived by now; everything stayed single.
    await new Promise((r) => setTimeout(r, 500));
    for (const id of [sentDirect.message_id, wAll.body.message_id]) expect(textsAtS(id)).toHaveLength(1);
    expect(textsAt(n, wAll.body.message_id)).toHaveLength(1);
    expect(textsAt(n, sAll.message_id)).toHaveLength(1);
    expect(textsAt(w, sAll.message_id)).toHaveLength(1);
  }, 180_000);

  it('passes nothing on from a standard peer whose file fails the whole-file check', async () => {
    const file = randomFile(3 * 1024 * 1024);
    const s = await StandardPeer.start({
      sharedFiles: [{ name: 'bad.bin', data: file.data }],
      serving: 'corrupt',
    });
    standards.push(s);
    const n = await node({ name: 'N' });
    await n.peer.connect('127.0.0.1', s.port);
    const w = await node({ name: 'W', noTcp: true, bootstrap: [n.signalUrl], stallTimeout: 3 });
    await waitFor(() => w.peer.connectionTo(n.peer.id), 45_000, 'W linked to N over WebRTC');
    await waitFor(
      async () => (await w.api('/api/files')).body.remote.some((f: any) => f.file_id === file.fileId),
      20_000,
      'the offer at W',
    );
    const started = await w.api('/api/files/download', { body: { file_id: file.fileId } });

    // N's own fetch fails its whole-file check; W's download fails for want of a source, with nothing served.
    await waitFor(
      () => n.transfers.list().find((t) => t.file_id === file.fileId && t.status === 'failed'),
      30_000,
      "N's fetch to fail",
    );
    const atW = await waitFor(
      async () => {
        const { body } = await w.api(`/api/files/transfers/${started.body.transfer.transfer_id}`);
        return body.transfer.status === 'failed' ? body.transfer : null;
      },
      30_000,
      "W's download to fail",
    );
    expect(atW.bytes_received).toBe(0);
    expect(n.transfers.server.bytesServed).toBe(0);
    expect(n.library.get(file.fileId)).toBeUndefined();
  }, 120_000);

  it('pulls one download from a standard peer, a TCP node and a WebRTC node at once', async () => {
    const file = randomFile(8 * 1024 * 1024);
    // Capped seeders, so that no one of them serves the whole file before the others are asked.
    const cap = { uploadLimit: 2 * 1024 * 1024 };
    const s = await StandardPeer.start({ sharedFiles: [{ name: 'multi.bin', data: file.data }] });
    standards.push(s);
    const a = await seeder('A', 'multi.bin', file.data, cap);
    const d = await node({ name: 'D', connect: [at(a)] });
    await d.peer.connect('127.0.0.1', s.port);
    const b = await seeder('B', 'multi.bin', file.data, { ...cap, noTcp: true, bootstrap: [d.signalUrl] });
    await waitFor(() => d.peer.connectionTo(b.peer.id), 45_000, 'B linked to D over WebRTC');

    const transfer = await downloadAt(d, file.fileId, 3);
    expect(transfer.peers_used.sort()).toEqual([a.peer.id, b.peer.id, s.id].sort());
    const kinds = Object.fromEntries(
      (await d.api('/api/peers/connected')).body.peers.map((p: any) => [
        p.peer_id,
        `${p.metadata.kind}/${p.metadata.transport}`,
      ]),
    );
    expect([kinds[s.id], kinds[a.peer.id], kinds[b.peer.id]]).toEqual([
      'standard/tcp',
      'node/tcp',
      'node/webrtc',
    ]);
    expect((await readShared(d.dir, 'multi.bin')).equals(file.data)).toBe(true);
  }, 180_000);
});
