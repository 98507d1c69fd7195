import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DOWNLOADS_DIR_NAME } from '../../bootstrap-node/node.ts';
import { shutdownWebRtc } from '../../lib/peer/transport-webrtc.node.ts';
import { putShared, randomFile, sharedNames } from '../support/files.ts';
import { chunkServed, StandardPeer } from '../support/standard-peer.ts';
import { at, makeTempDir, removeTempDirs, startTestNode, waitFor, waitForTransferDone } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';
import type { NodeConfig } from '../../bootstrap-node/config.ts';

const nodes: TestNode[] = [];
const peers: StandardPeer[] = [];
afterEach(async () => {
  await Promise.all([...nodes.splice(0).map((n) => n.close()), ...peers.splice(0).map((p) => p.close())]);
  await removeTempDirs();
});
afterAll(() => shutdownWebRtc());

/** A node over TCP only (no WebRTC side), for the tests that do not need it. */
async function tcpNode(overrides: Partial<NodeConfig> = {}) {
  const n = await startTestNode(overrides, { webrtc: false });
  nodes.push(n);
  return n;
}

async function webrtcNode(overrides: Partial<NodeConfig> = {}) {
  const n = await startTestNode({ noTcp: true, ...overrides });
  nodes.push(n);
  return n;
}

async function connectedIds(n: TestNode): Promise<string[]> {
  return (await n.api('/api/peers/connected')).body.peers.map((p: any) => p.peer_id);
}


describe('--allow: a private swarm', () => {
  it('admits a listed peer over TCP and refuses others either way, with the reason logged', async () => {
    const friend = await tcpNode({ name: 'friend' });
    const stranger = await tcpNode({ name: 'stranger' });
    const home = await tcpNode({ name: 'home', allow: [friend.peer.id] });

    await friend.peer.connect('127.0.0.1', home.tcpPort);
    await waitFor(async () => (await connectedIds(home)).includes(friend.peer.id), 10_000, 'the friend admitted');

    // A stranger dialling in is refused on its claimed id, before home answers or proves anything.
    await expect(stranger.peer.connect('127.0.0.1', home.tcpPort)).rejects.toThrow(/during the handshake/);
    const refusal = await home.waitForLog((l) => l.msg === 'refused a peer' && l.peer === stranger.peer.id);
    expect(refusal.reason).toMatch(/not in this node's --allow list/);
    expect(refusal.transport).toBe('tcp');

    // The home node dialling a stranger (over the API): refused too, and the API says why.
    const dialled = await home.api('/api/peers/connect', { body: at(stranger) });
    expect(dialled.status).toBe(400);
    expect(dialled.body.detail).toMatch(/--allow/);

    // A standard peer is not on the list either.
    const std = await StandardPeer.start({});
    peers.push(std);
    await std.dial('127.0.0.1', home.tcpPort).catch(() => {});
    await home.waitForLog((l) => l.msg === 'refused a peer' && l.peer === std.id);

    expect(await connectedIds(home)).toEqual([friend.peer.id]);
    const known = (await home.api('/api/peers')).body.peers.map((p: any) => p.peer_id);
    expect(known).not.toContain(stranger.peer.id);
    expect(known).not.toContain(std.id);
  });

  it('links to listed peers only over WebRTC, and its own /signal admits only them', async () => {
    const hub = await webrtcNode({ name: 'hub', noTcp: false });
    const friend = await webrtcNode({ name: 'friend', bootstrap: [hub.signalUrl] });
    const stranger = await webrtcNode({ name: 'stranger', bootstrap: [hub.signalUrl] });
    const home = await webrtcNode({ name: 'home', bootstrap: [hub.signalUrl], allow: [friend.peer.id] });

    await waitFor(async () => (await connectedIds(home)).includes(friend.peer.id), 45_000, 'home linked to the friend over WebRTC');
    await home.waitForLog((l) => l.msg === 'not linking to a peer over WebRTC' && l.peer === stranger.peer.id, 20_000);
    // The stranger and the hub are linked to each other and to the friend, never to home.
    await waitFor(async () => (await connectedIds(stranger)).includes(friend.peer.id), 45_000, 'the stranger linked to the friend');
    expect(await connectedIds(home)).toEqual([friend.peer.id]);
    expect(await connectedIds(stranger)).not.toContain(home.peer.id);

    // Home's own signalling endpoint: the friend may join it, a stranger may not.
    const visitor = await webrtcNode({ name: 'visitor', bootstrap: [home.signalUrl] });
    const refused = await home.waitForLog((l) => l.msg === 'refused a signalling join' && l.peer === visitor.peer.id, 20_000);
    expect(refused.reason).toMatch(/--allow list/);
  });
});

describe('--no-reshare', () => {
  it('lands downloads in <dir>/downloads/, never announces or serves them, and serves what it shares', async () => {
    const file = randomFile(300 * 1024);
    const seedDir = await makeTempDir();
    await putShared(seedDir, 'movie.bin', file.data);
    const seeder = await tcpNode({ dir: seedDir, name: 'seeder' });
    const own = randomFile(10 * 1024);
    const leechDir = await makeTempDir();
    await putShared(leechDir, 'own.bin', own.data);
    const leech = await tcpNode({ dir: leechDir, name: 'leech', noReshare: true, connect: [at(seeder)] });

    await waitFor(async () => (await leech.api('/api/files')).body.remote.some((f: any) => f.file_id === file.fileId), 20_000, 'the offer');
    const started = await leech.api('/api/files/download', { body: { file_id: file.fileId } });
    const transfer = await waitForTransferDone(leech, started.body.transfer.transfer_id, 60_000, 'the download');
    expect(transfer.destination).toBe(join(leech.dir, DOWNLOADS_DIR_NAME, 'movie.bin'));
    expect(existsSync(transfer.destination)).toBe(true);
    expect(await sharedNames(leech.dir)).toEqual(['own.bin']);
    expect((await leech.api('/api/files')).body.local.map((f: any) => f.file_id)).toEqual([own.fileId]);

    // A newcomer hears of the node's own file only, and is not served the download.
    const std = await StandardPeer.start({});
    peers.push(std);
    const conn = await std.dial('127.0.0.1', leech.tcpPort);
    await std.waitFor(() => std.manifests.get(own.fileId), 10_000, 'the manifest of the shared file');
    expect(std.manifests.has(file.fileId)).toBe(false);
    expect(await chunkServed(std, conn, leech.peer.id, own.fileId, 10_000)).toBe(true); // requests do work
    expect(await chunkServed(std, conn, leech.peer.id, file.fileId, 2_000)).toBe(false);
    // The seeder never heard of the leech as a source (no file_availability, no partial manifest).
    expect(seeder.transfers.catalog.get(file.fileId)).toBeUndefined();
  });
});
