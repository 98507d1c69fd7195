import { describe, expect, it } from 'vitest';
import { FAILED_FETCH_HOLD_OFF_MS, FileBridge, PARKED_CHECK_INTERVAL_MS } from '../../lib/transfer/bridge.ts';
import type { BridgeDeps } from '../../lib/transfer/bridge.ts';
import type { ChunkServer, ServeRequest } from '../../lib/transfer/chunk-server.ts';
import type { DownloadStore } from '../../lib/transfer/download-deps.ts';
import type { Library } from '../../lib/transfer/library.ts';
import { makeStandardManifest } from '../../lib/transfer/manifest.ts';
import { RemoteCatalog } from '../../lib/transfer/remote-catalog.ts';
import type { Connection } from '../../lib/peer/connection.ts';
import type { Peer } from '../../lib/peer/peer.ts';
import { Emitter } from '../../lib/util/emitter.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { ManualTimers } from '../support/manual-timers.ts';

const FILE_ID = 'a'.repeat(64);
const PIECE = 64 * 1024;
const FILE_SIZE = 4 * PIECE;

interface FakeConnection {
  peerId: string;
  isSwarm: boolean;
  sent: { type: string; content: any }[];
  send(type: string, options: { content: unknown }): Promise<void>;
}

function connection(peerId: string, isSwarm: boolean): FakeConnection {
  const c: FakeConnection = {
    peerId,
    isSwarm,
    sent: [],
    send: async (type, options) => void c.sent.push({ type, content: options.content }),
  };
  return c;
}

/** A bridge node "N" with fakes below it: what it offers, what it serves, and when it fetches. */
function setup() {
  const timers = new ManualTimers();
  const connections: FakeConnection[] = [];
  const peer = Object.assign(new Emitter(), { id: 'N', primaryConnections: () => connections });
  const held = new Set<string>();
  const served: ServeRequest[] = [];
  const catalog = new RemoteCatalog();
  const state = {
    fetches: 0,
    status: 'none' as ReturnType<BridgeDeps['fetchStatus']>,
    /** Pieces our fetch holds verified against chunk hashes; null: no chunk hashes. */
    verified: null as Set<number> | null,
  };
  const store = {
    fileSize: FILE_SIZE,
    chunkCount: FILE_SIZE / PIECE,
    get count() {
      return state.verified?.size ?? 0;
    },
    hasRange: (start: number, length: number) => {
      for (let p = Math.floor(start / PIECE); p * PIECE < start + length; p++)
        if (!state.verified?.has(p)) return false;
      return true;
    },
  } as unknown as DownloadStore;
  const bridge = new FileBridge({
    peer: peer as unknown as Peer,
    library: { get: (id: string) => (held.has(id) ? { fileId: id } : undefined) } as unknown as Library,
    catalog,
    server: { enqueue: (_c: Connection, r: ServeRequest) => served.push(r) } as unknown as ChunkServer,
    log: silentLogger,
    timers,
    startFetch: async () => {
      state.fetches++;
      state.status = 'running';
    },
    verifiedStore: () => (state.verified ? store : null),
    fetchStatus: () => state.status,
  });
  const offer = (from: string, swarm: boolean) =>
    catalog.addManifest(
      from,
      makeStandardManifest({
        fileId: FILE_ID,
        fileName: 'f.bin',
        fileSize: FILE_SIZE,
        owner: from,
        chunkSize: swarm ? PIECE : 1024 * 1024,
      }),
      { swarm, content: null, partial: false },
    );
  const request = (chunkIndex: number): ServeRequest => ({ fileId: FILE_ID, chunkIndex, chunkSize: PIECE });
  const tick = () => timers.advance(PARKED_CHECK_INTERVAL_MS);
  /** A connected peer (offers reach it). */
  const link = (peerId: string, isSwarm: boolean) => {
    const c = connection(peerId, isSwarm);
    connections.push(c);
    return c as unknown as Connection;
  };
  return { bridge, timers, connections, held, served, state, offer, request, tick, link };
}

describe('FileBridge offers', () => {
  it("offers a standard peer's file to swarm peers only, once, as a bridged source", () => {
    const t = setup();
    const w = connection('W', true);
    const s2 = connection('S2', false);
    const s = connection('S', false);
    t.connections.push(w, s2, s);
    t.offer('S', false);
    t.offer('S', false);
    expect(s2.sent).toEqual([]);
    expect(s.sent).toEqual([]);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.content).toMatchObject({
      file_id: FILE_ID,
      owner: 'N',
      chunk_size: PIECE,
      bridged: true,
    });
    expect(w.sent[0]!.content.swarm_content).toBeUndefined();
  });

  it("offers a swarm peer's file to standard peers as a plain 1 MiB manifest, not to its source", () => {
    const t = setup();
    const w = connection('W', true);
    const s = connection('S', false);
    t.connections.push(w, s);
    t.offer('W', true);
    expect(w.sent).toEqual([]);
    expect(s.sent.map((m) => m.content)).toEqual([
      makeStandardManifest({
        fileId: FILE_ID,
        fileName: 'f.bin',
        fileSize: FILE_SIZE,
        owner: 'N',
        chunkSize: 1024 * 1024,
      }),
    ]);
  });
});

describe('FileBridge requests', () => {
  it('without chunk hashes, serves nothing until the whole file is checked and held', () => {
    const t = setup();
    const w = t.link('W', true);
    t.offer('S', false);
    expect(t.bridge.hold(w, t.request(0))).toBe(true);
    expect(t.bridge.hold(w, t.request(0))).toBe(true); // a retry does not queue twice
    expect(t.bridge.hold(w, t.request(1))).toBe(true);
    expect(t.state.fetches).toBe(1);
    t.tick();
    t.tick();
    expect(t.served).toEqual([]);
    t.held.add(FILE_ID); // the fetch passed its whole-file check and landed in the library
    t.tick();
    expect(t.served).toEqual([t.request(0), t.request(1)]);
  });

  it('with chunk hashes, passes each verified piece on as soon as it is held', () => {
    const t = setup();
    const s = t.link('S', false);
    t.offer('X', true);
    expect(t.bridge.hold(s, t.request(0))).toBe(true);
    expect(t.bridge.hold(s, t.request(2))).toBe(true);
    t.state.verified = new Set([0]);
    t.tick();
    expect(t.served).toEqual([t.request(0)]);
    expect(t.bridge.hold(s, t.request(0))).toBe(false); // held verified: the chunk server answers at once
    t.state.verified.add(2);
    t.tick();
    expect(t.served).toEqual([t.request(0), t.request(2)]);
    // Once every piece is in, the file is being checked and moved: requests wait for the library.
    t.state.verified.add(1).add(3);
    expect(t.bridge.hold(s, t.request(1))).toBe(true);
    t.tick();
    expect(t.served).toHaveLength(2);
    t.held.add(FILE_ID);
    t.tick();
    expect(t.served).toEqual([t.request(0), t.request(2), t.request(1)]);
  });

  it('hands waiting requests back when the fetch fails, and does not refetch for a while', () => {
    const t = setup();
    const w = t.link('W', true);
    t.offer('S', false);
    t.bridge.hold(w, t.request(3));
    t.state.status = 'failed';
    t.tick();
    expect(t.served).toEqual([t.request(3)]); // the chunk server answers: chunk_unavailable
    expect(t.bridge.hold(w, t.request(3))).toBe(false);
    expect(t.state.fetches).toBe(1);
    t.timers.advance(FAILED_FETCH_HOLD_OFF_MS);
    expect(t.bridge.hold(w, t.request(3))).toBe(true);
    expect(t.state.fetches).toBe(2);
  });

  it('lets a cancelled request go, and leaves a file it did not offer to the chunk server', () => {
    const t = setup();
    const w = t.link('W', true);
    expect(t.bridge.hold(w, t.request(0))).toBe(false);
    t.offer('S', false);
    expect(t.bridge.hold(w, t.request(1))).toBe(true);
    t.bridge.cancel(w, t.request(1));
    t.held.add(FILE_ID);
    t.tick();
    expect(t.served).toEqual([]);
  });
});
