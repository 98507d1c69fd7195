/**
 * StandardPeer: a second, independent implementation of STANDARD-PROTOCOL.md for tests.
 *
 * It knows nothing but that page and imports only `node:` built-ins (never `lib/`), so a mistake in
 * our own codec or handshake cannot hide behind the same mistake here. It behaves like a peer of the
 * original Python application: one TCP connection per socket, 4-byte big-endian length + UTF-8 JSON
 * frames serialised exactly like Python's `json.dumps` defaults, and the reference peer's rules
 * for dropping messages. Three switches reproduce the reference peer's observed defects.
 *
 * Everything a test may want to look at is a public field: `received`, `dropped`, `texts`,
 * `manifests`, `sentFrames`, `connections`. Use `waitFor` instead of sleeping.
 *
 * Where it is stricter than the reference peer (content grammar, standard base64 alphabet) it
 * records the message in `dropped` with reason `invalid-content`, so a test sees our node's mistake.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { sha256Hex } from './files.ts';

/** page: every envelope carries version "1.0". */
export const PROTOCOL_VERSION = '1.0';
/** page: the reference peer rejects frames over 10 MiB. */
export const MAX_FRAME_BYTES = 10 * 1024 * 1024;
/** page: a 4-byte big-endian unsigned length prefix. */
const FRAME_PREFIX_BYTES = 4;
/** page: the reference peer uses 1 MiB chunks. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** page: the reference peer rejects `data` longer than 2 MiB of base64. */
export const MAX_CHUNK_BASE64_CHARS = 2 * 1024 * 1024;
/** page: a text holds at most 10,000 characters. */
export const MAX_TEXT_CHARS = 10_000;
/** page: messages whose timestamp is more than 300 s from the receiver's clock are dropped. */
const MAX_CLOCK_SKEW_S = 300;
/** page: a ping every ~20 s; a connection idle for 60 s is dropped. */
const DEFAULT_PING_INTERVAL_MS = 20_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** page: the reference downloader keeps up to 3 requests in flight and times one out after 10 s. */
const MAX_REQUESTS_IN_FLIGHT = 3;
const DEFAULT_CHUNK_REQUEST_TIMEOUT_MS = 10_000;
/** Harness choice (the page gives no limit): a chunk is requested this many times before the download fails. */
const DEFAULT_CHUNK_ATTEMPTS = 3;
/** `waitFor` re-checks on every state change and also polls, for predicates over other objects. */
const WAIT_POLL_MS = 20;
const DEFAULT_WAIT_MS = 10_000;

export const MESSAGE_TYPES = [
  'handshake', 'text', 'ack', 'ping', 'pong', 'error',
  'file_manifest', 'file_chunk_request', 'file_chunk', 'file_complete', 'file_availability',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** One frame's JSON object, keys in the order the reference peer writes them. */
export interface Envelope {
  version: string;
  type: MessageType;
  sender_id: string;
  message_id: string;
  timestamp: number;
  recipient_id?: string | null;
  content?: Record<string, unknown>;
}

export interface FileManifest {
  file_id: string;
  file_name: string;
  file_size: number;
  chunk_size: number;
  chunk_count: number;
  checksum: string;
  owner: string;
}

export type DropReason =
  | 'invalid-json' | 'not-an-envelope' | 'unknown-type' | 'stale-timestamp'
  | 'duplicate-message-id' | 'invalid-content' | 'chunk-data-too-large' | 'frame-too-large';

export type StandardPeerErrorCode =
  | 'FRAME_TOO_LARGE' | 'TEXT_TOO_LONG' | 'PEER_NOT_CONNECTED' | 'UNKNOWN_FILE'
  | 'CHUNK_TIMEOUT' | 'CHECKSUM_MISMATCH' | 'CLOSED' | 'WAIT_TIMEOUT';

export class StandardPeerError extends Error {
  constructor(readonly code: StandardPeerErrorCode, message: string) {
    super(message);
    this.name = 'StandardPeerError';
  }
}

// ---------------------------------------------------------------------------------------------
// Codec: Python json.dumps defaults, length prefix, buffering decoder, envelope checks.
// ---------------------------------------------------------------------------------------------

/** Keys whose values the reference peer writes as Python floats (so 5 becomes "5.0"). */
const FLOAT_KEYS = new Set(['timestamp']);

/**
 * Serialises like Python's `json.dumps(value)` with default arguments: separators ", " and ": ",
 * `ensure_ascii=True` (every character outside space..tilde as lowercase \uXXXX, surrogate pairs
 * for astral characters), keys in insertion order. The fixture's `length` values match this exactly.
 */
export function pythonJsonDumps(value: unknown, key?: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return formatPythonNumber(value, key !== undefined && FLOAT_KEYS.has(key));
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map((item) => pythonJsonDumps(item)).join(', ')}]`;
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pythonString(k)}: ${pythonJsonDumps(v, k)}`);
    return `{${members.join(', ')}}`;
  }
  throw new TypeError(`cannot serialise ${typeof value}`);
}

function formatPythonNumber(n: number, isFloat: boolean): string {
  if (!Number.isFinite(n)) throw new TypeError('Python would write NaN/Infinity, which is not JSON');
  // JS and Python both print the shortest round-trip form; only integral floats differ ("5" vs "5.0").
  return isFloat && Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : String(n);
}

function pythonString(s: string): string {
  // JSON.stringify already escapes quotes, backslashes and control characters the way Python does;
  // Python's ensure_ascii additionally escapes DEL and everything non-ASCII.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A frame as the reference peer writes it: 4-byte big-endian length, then the JSON bytes. */
export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(pythonJsonDumps(value), 'utf8');
  if (body.length > MAX_FRAME_BYTES) {
    throw new StandardPeerError('FRAME_TOO_LARGE', `frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

/** Reassembles frames from arbitrarily split and coalesced reads; throws FRAME_TOO_LARGE. */
export class FrameDecoder {
  private pieces: Buffer[] = [];
  private buffered = 0;
  private expected: number | null = null;

  /** Returns the payloads of every frame completed by `chunk` (possibly none). */
  push(chunk: Buffer): Buffer[] {
    this.pieces.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < FRAME_PREFIX_BYTES) break;
        this.expected = this.take(FRAME_PREFIX_BYTES).readUInt32BE(0);
        if (this.expected > MAX_FRAME_BYTES) {
          throw new StandardPeerError('FRAME_TOO_LARGE', `announced frame of ${this.expected} bytes`);
        }
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = null;
    }
    return frames;
  }

  /** Concatenates only once enough bytes are here, so a big frame in small reads costs one copy. */
  private take(n: number): Buffer {
    const all = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.buffered);
    const rest = all.subarray(n);
    this.pieces = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}

export type EnvelopeCheck = { ok: true; envelope: Envelope } | { ok: false; reason: DropReason };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The reference peer's acceptance rules for one decoded frame (duplicate ids are the caller's,
 * since they need memory). `nowSeconds` is passed in so fixtures from another day can be checked.
 */
export function checkEnvelope(value: unknown, nowSeconds: number): EnvelopeCheck {
  if (!isObject(value)) return { ok: false, reason: 'not-an-envelope' };
  const { version, type, sender_id, message_id, timestamp } = value;
  if (!isString(version) || !isString(type) || !isString(sender_id) || !isString(message_id) || typeof timestamp !== 'number') {
    return { ok: false, reason: 'not-an-envelope' };
  }
  if (!(MESSAGE_TYPES as readonly string[]).includes(type)) return { ok: false, reason: 'unknown-type' };
  if (Math.abs(nowSeconds - timestamp) > MAX_CLOCK_SKEW_S) return { ok: false, reason: 'stale-timestamp' };
  const envelope = value as unknown as Envelope;
  const reason = checkContent(envelope.type, value.content);
  return reason === null ? { ok: true, envelope } : { ok: false, reason };
}

/** Content grammar per type, as the page gives it; `ack`, `error`, `file_complete` are unspecified. */
function checkContent(type: MessageType, c: unknown): DropReason | null {
  if (type === 'ping' || type === 'pong' || type === 'ack' || type === 'error' || type === 'file_complete') return null;
  if (!isObject(c)) return 'invalid-content';
  // page: "The reference peer rejects `data` longer than 2 MiB of base64."
  if (type === 'file_chunk' && isString(c.data) && c.data.length > MAX_CHUNK_BASE64_CHARS) return 'chunk-data-too-large';
  const valid = (() => {
    switch (type) {
      case 'handshake':
        return isString(c.address) && isIndex(c.port) && (c.public_key === null || isString(c.public_key)) && typeof c.handshake_response === 'boolean';
      case 'text':
        return isString(c.text) && c.text.length <= MAX_TEXT_CHARS;
      case 'file_manifest':
        return isString(c.file_id) && isString(c.file_name) && isIndex(c.file_size) && isIndex(c.chunk_size) && (c.chunk_size as number) > 0 &&
          isIndex(c.chunk_count) && isString(c.checksum) && isString(c.owner);
      case 'file_chunk_request':
        return isString(c.file_id) && isIndex(c.chunk_index);
      case 'file_chunk':
        return isString(c.file_id) && isIndex(c.chunk_index) && isString(c.data) && c.data.length % 4 === 0 && STANDARD_BASE64.test(c.data);
      case 'file_availability':
        return isString(c.file_id) && Array.isArray(c.peers) && c.peers.every(isString);
    }
  })();
  return valid ? null : 'invalid-content';
}

/** The manifest the page describes: file_id = checksum = SHA-256 hex of the whole file. */
export function computeManifest(fileName: string, data: Buffer, chunkSize: number, owner: string): FileManifest {
  const digest = sha256Hex(data);
  return {
    file_id: digest, file_name: fileName, file_size: data.length, chunk_size: chunkSize,
    chunk_count: Math.max(1, Math.ceil(data.length / chunkSize)), checksum: digest, owner,
  };
}

// ---------------------------------------------------------------------------------------------
// The peer.
// ---------------------------------------------------------------------------------------------

export interface StandardPeerDefects {
  /** page: "as acceptor it often fails to answer an inbound handshake; it works when both sides dial each other."
   *  (Here: always. The dialler is still registered, but gets no response and no manifests.) */
  acceptorIgnoresHandshake?: boolean;
  /** page: "as dialler it drops its own connection when the acceptor's response advertises the very address
   *  it dialled (e.g. "address": "127.0.0.1" after dialling 127.0.0.1)." */
  dropWhenResponseAdvertisesDialledAddress?: boolean;
  /** page: "it logs each incoming text twice and sends broadcasts on every socket it holds to a peer, so a
   *  receiver must deduplicate by message_id." (`texts` gets each text twice; broadcasts go on every socket.) */
  duplicateBroadcasts?: boolean;
}

export interface StandardPeerOptions {
  /** Default: `<uuid4>-<16 hex>`, like the reference peer. */
  id?: string;
  /** `content.address` of our handshakes. Default 127.0.0.1. */
  advertiseAddress?: string;
  /** Where to listen. Default 127.0.0.1 (tests use loopback only). */
  host?: string;
  sharedFiles?: { name: string; data: Buffer }[];
  /** Chunk size of the files this peer shares. Default 1 MiB. */
  chunkSize?: number;
  defects?: StandardPeerDefects;
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  chunkRequestTimeoutMs?: number;
  /** How many times one chunk is requested before `download` rejects with CHUNK_TIMEOUT. Default 3. */
  chunkAttempts?: number;
  /**
   * Test behaviours beyond the page, for peers that misbehave: 'silent' accepts chunk requests and
   * never answers; 'corrupt' answers with the right length but flipped bytes. Default 'honest'.
   */
  serving?: 'honest' | 'silent' | 'corrupt';
  /** Clock in milliseconds since the epoch (stamps and the 300 s check). Default: wall clock with sub-ms precision. */
  now?: () => number;
}

export type ConnectionRole = 'dialler' | 'acceptor';
/** handshaking: no handshake seen yet from the remote (dialler: no response yet); open: remote id known. */
export type ConnectionState = 'handshaking' | 'open' | 'closed';

/** One TCP connection. Fields are updated by the peer; tests only read them. */
export interface StandardConnection {
  readonly id: number;
  readonly role: ConnectionRole;
  readonly socket: net.Socket;
  /** The host given to `dial`, null on accepted connections. */
  readonly dialledHost: string | null;
  state: ConnectionState;
  remotePeerId: string | null;
  /** `content` of the last handshake received on this connection. */
  remoteHandshake: Record<string, unknown> | null;
  closeReason: string | null;
}

export interface ReceivedEnvelope { envelope: Envelope; socket: net.Socket; connection: StandardConnection }
export interface DroppedFrame { reason: DropReason; frame: unknown; connection: StandardConnection }
export interface SentFrame { envelope: Envelope; length: number; connection: StandardConnection }

interface ServedFile { manifest: FileManifest; data: Buffer }

interface DownloadState {
  manifest: FileManifest;
  source: string;
  chunks: (Buffer | undefined)[];
  unrequested: number[];
  inFlight: Map<number, NodeJS.Timeout>;
  attempts: Map<number, number>;
  remaining: number;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
}

export class StandardPeer {
  readonly id: string;
  /** The listening port, 0 until `listen` resolves. */
  port = 0;
  readonly received: ReceivedEnvelope[] = [];
  readonly dropped: DroppedFrame[] = [];
  readonly texts: Envelope[] = [];
  /** Manifests received, by file_id (the latest wins). */
  readonly manifests = new Map<string, FileManifest>();
  readonly sentFrames: SentFrame[] = [];
  /** Every connection ever made or accepted, closed ones included. */
  readonly connections: StandardConnection[] = [];

  private readonly opts: Required<Omit<StandardPeerOptions, 'id' | 'sharedFiles' | 'defects'>>;
  private readonly defects: StandardPeerDefects;
  private readonly server = net.createServer((socket) => this.adopt(socket, 'acceptor', null));
  private readonly served = new Map<string, ServedFile>();
  /** Chunk bytes served so far (before base64). */
  bytesServed = 0;
  private readonly sources = new Map<string, Set<string>>();
  private readonly seenMessageIds = new Set<string>();
  private readonly downloads = new Set<DownloadState>();
  private readonly idleTimers = new Map<StandardConnection, NodeJS.Timeout>();
  private readonly changeListeners = new Set<() => void>();
  private readonly pingTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;

  /** Constructs and starts listening. */
  static async start(options: StandardPeerOptions = {}): Promise<StandardPeer> {
    const peer = new StandardPeer(options);
    await peer.listen();
    return peer;
  }

  constructor(options: StandardPeerOptions = {}) {
    this.id = options.id ?? `${randomUUID()}-${randomBytes(8).toString('hex')}`;
    this.defects = options.defects ?? {};
    this.opts = {
      advertiseAddress: options.advertiseAddress ?? '127.0.0.1',
      host: options.host ?? '127.0.0.1',
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      chunkRequestTimeoutMs: options.chunkRequestTimeoutMs ?? DEFAULT_CHUNK_REQUEST_TIMEOUT_MS,
      chunkAttempts: options.chunkAttempts ?? DEFAULT_CHUNK_ATTEMPTS,
      serving: options.serving ?? 'honest',
      now: options.now ?? (() => performance.timeOrigin + performance.now()),
    };
    for (const file of options.sharedFiles ?? []) this.addServed(computeManifest(file.name, file.data, this.opts.chunkSize, this.id), file.data);
    this.pingTimer = setInterval(() => this.pingAll(), this.opts.pingIntervalMs).unref();
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.opts.host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Connects and sends our handshake; resolves once the TCP connection is up (not on the response). */
  dial(host: string, port: number): Promise<StandardConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const conn = this.adopt(socket, 'dialler', host);
        this.sendEnvelope(conn, this.createEnvelope('handshake', this.handshakeContent(false)));
        resolve(conn);
      });
    });
  }

  /** Remote ids registered on connections that are still open (each once). */
  connectedPeerIds(): string[] {
    return [...new Set(this.openConnections().flatMap((c) => (c.remotePeerId === null ? [] : [c.remotePeerId])))];
  }

  /** Direct text on one socket of `recipientId`, or a broadcast (`null`) on every connection. */
  sendText(text: string, recipientId: string | null): Envelope {
    if (text.length > MAX_TEXT_CHARS) throw new StandardPeerError('TEXT_TOO_LONG', `${text.length} > ${MAX_TEXT_CHARS} characters`);
    const envelope = this.createEnvelope('text', { text }, recipientId);
    if (recipientId === null) {
      for (const conn of this.broadcastConnections()) this.sendEnvelope(conn, envelope);
    } else {
      this.sendEnvelope(this.requireConnectionTo(recipientId), envelope);
    }
    return envelope;
  }

  /** Shares a new file and announces its manifest on every connection. */
  share(name: string, data: Buffer): FileManifest {
    const manifest = computeManifest(name, data, this.opts.chunkSize, this.id);
    this.addServed(manifest, data);
    for (const conn of this.openConnections()) this.sendEnvelope(conn, this.createEnvelope('file_manifest', { ...manifest }));
    return manifest;
  }

  /** Manifests of the files this peer shares (or has downloaded). */
  sharedManifests(): FileManifest[] {
    return [...this.served.values()].map((f) => f.manifest);
  }

  /**
   * Downloads a file whose manifest was received, from `fromPeerId` (default: whoever announced it),
   * in the manifest's chunk size, up to 3 requests in flight, re-requesting a chunk after the timeout.
   * Verifies the whole-file SHA-256, then broadcasts `file_availability` and resolves the bytes.
   */
  download(fileId: string, fromPeerId?: string): Promise<Buffer> {
    const manifest = this.manifests.get(fileId);
    if (manifest === undefined) return Promise.reject(new StandardPeerError('UNKNOWN_FILE', `no manifest for ${fileId}`));
    const source = fromPeerId ?? [...(this.sources.get(fileId) ?? [])][0] ?? manifest.owner;
    return new Promise((resolve, reject) => {
      const d: DownloadState = {
        manifest, source, resolve, reject,
        chunks: new Array<Buffer | undefined>(manifest.chunk_count).fill(undefined),
        unrequested: Array.from({ length: manifest.chunk_count }, (_, i) => i),
        inFlight: new Map(), attempts: new Map(), remaining: manifest.chunk_count,
      };
      this.downloads.add(d);
      this.pumpDownload(d);
    });
  }

  /** Resolves with the predicate's first truthy value; rejects with WAIT_TIMEOUT after `timeoutMs`. */
  waitFor<T>(predicate: () => T | false | null | undefined, timeoutMs = DEFAULT_WAIT_MS, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearInterval(poll);
        clearTimeout(deadline);
        this.changeListeners.delete(check);
      };
      const check = (): void => {
        try {
          const value = predicate();
          if (value) { finish(); resolve(value); }
        } catch (err) { finish(); reject(err); }
      };
      const poll = setInterval(check, WAIT_POLL_MS);
      const deadline = setTimeout(() => { finish(); reject(new StandardPeerError('WAIT_TIMEOUT', `${this.id}: timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      this.changeListeners.add(check);
      check();
    });
  }

  /** An envelope from this peer, keys ordered like the fixtures (a broadcast puts `recipient_id: null` last). */
  createEnvelope(type: MessageType, content?: Record<string, unknown>, recipientId?: string | null): Envelope {
    const head = { version: PROTOCOL_VERSION, type, sender_id: this.id, message_id: randomUUID(), timestamp: this.opts.now() / 1000 };
    if (recipientId === null) return { ...head, ...(content && { content }), recipient_id: null };
    return { ...head, ...(recipientId !== undefined && { recipient_id: recipientId }), ...(content && { content }) };
  }

  /** Low level: sends one envelope (recorded in `sentFrames`). */
  sendEnvelope(conn: StandardConnection, envelope: Envelope): void {
    const frame = encodeFrame(envelope);
    if (conn.state === 'closed') return;
    conn.socket.write(frame);
    this.sentFrames.push({ envelope, length: frame.length - FRAME_PREFIX_BYTES, connection: conn });
    this.changed();
  }

  /** Low level, for malformed-input tests: writes any bytes as they are. */
  sendRawBytes(conn: StandardConnection, bytes: Buffer): void {
    conn.socket.write(bytes);
  }

  /** Closes the server, every connection and pending download. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      clearInterval(this.pingTimer);
      for (const d of this.downloads) this.finishDownload(d, new StandardPeerError('CLOSED', 'peer closed'));
      for (const conn of this.connections) this.closeConnection(conn, 'peer closed');
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  // ---- connections --------------------------------------------------------------------------

  private adopt(socket: net.Socket, role: ConnectionRole, dialledHost: string | null): StandardConnection {
    const conn: StandardConnection = {
      id: this.connections.length + 1, role, socket, dialledHost,
      state: 'handshaking', remotePeerId: null, remoteHandshake: null, closeReason: null,
    };
    this.connections.push(conn);
    if (this.closing) { this.closeConnection(conn, 'peer closed'); return conn; }
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    const idle = setTimeout(() => this.closeConnection(conn, 'idle timeout'), this.opts.idleTimeoutMs).unref();
    this.idleTimers.set(conn, idle);
    socket.on('data', (chunk: Buffer) => {
      if (conn.state === 'closed') return;
      idle.refresh();
      let payloads: Buffer[];
      try {
        payloads = decoder.push(chunk);
      } catch {
        this.drop(conn, 'frame-too-large', null);
        this.closeConnection(conn, 'frame too large');
        return;
      }
      for (const payload of payloads) this.onFrame(conn, payload);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => { conn.closeReason ??= err.code ?? err.message; });
    socket.on('close', () => this.closeConnection(conn, 'remote closed'));
    this.changed();
    return conn;
  }

  private closeConnection(conn: StandardConnection, reason: string): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    conn.closeReason ??= reason;
    clearTimeout(this.idleTimers.get(conn));
    this.idleTimers.delete(conn);
    conn.socket.destroy();
    this.changed();
  }

  private openConnections(): StandardConnection[] {
    return this.connections.filter((c) => c.state !== 'closed');
  }

  /** The page: a broadcast is "sent on every connection". Without the defect, each peer gets it once. */
  private broadcastConnections(): StandardConnection[] {
    const open = this.openConnections();
    if (this.defects.duplicateBroadcasts) return open;
    const servedPeers = new Set<string>();
    return open.filter((c) => {
      if (c.remotePeerId === null) return true; // not yet identified: may be a distinct peer
      if (servedPeers.has(c.remotePeerId)) return false;
      servedPeers.add(c.remotePeerId);
      return true;
    });
  }

  private requireConnectionTo(peerId: string): StandardConnection {
    const conn = this.openConnections().find((c) => c.remotePeerId === peerId);
    if (conn === undefined) throw new StandardPeerError('PEER_NOT_CONNECTED', `no connection to ${peerId}`);
    return conn;
  }

  private pingAll(): void {
    for (const conn of this.openConnections()) {
      if (conn.remotePeerId !== null) this.sendEnvelope(conn, this.createEnvelope('ping', undefined, conn.remotePeerId));
    }
  }

  // ---- incoming ---------------------------------------------------------------------------------

  private onFrame(conn: StandardConnection, payload: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      this.drop(conn, 'invalid-json', payload.toString('utf8'));
      return;
    }
    const check = checkEnvelope(value, this.opts.now() / 1000);
    if (!check.ok) return this.drop(conn, check.reason, value);
    const envelope = check.envelope;
    if (this.seenMessageIds.has(envelope.message_id)) return this.drop(conn, 'duplicate-message-id', value);
    this.seenMessageIds.add(envelope.message_id);
    this.received.push({ envelope, socket: conn.socket, connection: conn });
    this.handle(conn, envelope, envelope.content ?? {});
    this.changed();
  }

  private handle(conn: StandardConnection, envelope: Envelope, content: Record<string, unknown>): void {
    switch (envelope.type) {
      case 'handshake':
        return this.onHandshake(conn, envelope.sender_id, content);
      case 'ping':
        return this.sendEnvelope(conn, this.createEnvelope('pong', undefined, envelope.sender_id));
      case 'text':
        this.texts.push(envelope);
        if (this.defects.duplicateBroadcasts) this.texts.push(envelope);
        return;
      case 'file_manifest': {
        const manifest = content as unknown as FileManifest;
        this.manifests.set(manifest.file_id, manifest);
        return this.addSource(manifest.file_id, envelope.sender_id);
      }
      case 'file_availability':
        for (const peerId of content.peers as string[]) this.addSource(content.file_id as string, peerId);
        return;
      case 'file_chunk_request':
        return this.serveChunk(conn, envelope.sender_id, content.file_id as string, content.chunk_index as number);
      case 'file_chunk':
        for (const d of this.downloads) this.onChunk(d, envelope.sender_id, content);
        return;
      default:
        return; // pong, ack, error, file_complete: recorded in `received`, nothing to do.
    }
  }

  private onHandshake(conn: StandardConnection, senderId: string, content: Record<string, unknown>): void {
    conn.remotePeerId = senderId;
    conn.remoteHandshake = content;
    if (content.handshake_response === true) {
      if (this.defects.dropWhenResponseAdvertisesDialledAddress && content.address === conn.dialledHost) {
        return this.closeConnection(conn, 'response advertised the dialled address (defect)');
      }
      conn.state = 'open';
      return this.sendManifests(conn);
    }
    conn.state = 'open';
    if (this.defects.acceptorIgnoresHandshake) return;
    this.sendEnvelope(conn, this.createEnvelope('handshake', this.handshakeContent(true)));
    this.sendManifests(conn);
  }

  private handshakeContent(isResponse: boolean): Record<string, unknown> {
    return { address: this.opts.advertiseAddress, port: this.port, public_key: null, handshake_response: isResponse };
  }

  private drop(conn: StandardConnection, reason: DropReason, frame: unknown): void {
    this.dropped.push({ reason, frame, connection: conn });
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }

  // ---- files -------------------------------------------------------------------------------------

  private addServed(manifest: FileManifest, data: Buffer): void {
    this.served.set(manifest.file_id, { manifest, data });
  }

  private addSource(fileId: string, peerId: string): void {
    const peers = this.sources.get(fileId) ?? new Set<string>();
    peers.add(peerId);
    this.sources.set(fileId, peers);
  }

  private sendManifests(conn: StandardConnection): void {
    for (const { manifest } of this.served.values()) this.sendEnvelope(conn, this.createEnvelope('file_manifest', { ...manifest }));
  }

  /** The page: "It does not answer a request for an unknown file or index." */
  private serveChunk(conn: StandardConnection, requester: string, fileId: string, index: number): void {
    const file = this.served.get(fileId);
    if (file === undefined || index >= file.manifest.chunk_count) return;
    if (this.opts.serving === 'silent') return;
    const size = file.manifest.chunk_size;
    let bytes = file.data.subarray(index * size, (index + 1) * size);
    if (this.opts.serving === 'corrupt') bytes = Buffer.from(bytes.map((b) => b ^ 0x5a));
    this.bytesServed += bytes.length;
    const data = bytes.toString('base64');
    this.sendEnvelope(conn, this.createEnvelope('file_chunk', { file_id: fileId, chunk_index: index, data }, requester));
  }

  private pumpDownload(d: DownloadState): void {
    while (this.downloads.has(d) && d.inFlight.size < MAX_REQUESTS_IN_FLIGHT && d.unrequested.length > 0) {
      this.requestChunk(d, d.unrequested.shift()!);
    }
  }

  private requestChunk(d: DownloadState, index: number): void {
    const attempts = (d.attempts.get(index) ?? 0) + 1;
    d.attempts.set(index, attempts);
    if (attempts > this.opts.chunkAttempts) {
      return this.finishDownload(d, new StandardPeerError('CHUNK_TIMEOUT', `chunk ${index} unanswered after ${this.opts.chunkAttempts} requests`));
    }
    const conn = this.openConnections().find((c) => c.remotePeerId === d.source);
    if (conn === undefined) return this.finishDownload(d, new StandardPeerError('PEER_NOT_CONNECTED', `no connection to ${d.source}`));
    const timer = setTimeout(() => this.requestChunk(d, index), this.opts.chunkRequestTimeoutMs).unref();
    d.inFlight.set(index, timer);
    const content = { file_id: d.manifest.file_id, chunk_index: index };
    this.sendEnvelope(conn, this.createEnvelope('file_chunk_request', content, d.source));
  }

  private onChunk(d: DownloadState, senderId: string, content: Record<string, unknown>): void {
    const index = content.chunk_index as number;
    const timer = d.inFlight.get(index);
    if (senderId !== d.source || content.file_id !== d.manifest.file_id || timer === undefined) return;
    clearTimeout(timer);
    d.inFlight.delete(index);
    d.chunks[index] = Buffer.from(content.data as string, 'base64');
    d.remaining -= 1;
    if (d.remaining > 0) return this.pumpDownload(d);
    // The page: "checks only the whole-file SHA-256 at the end. It has no per-chunk hash."
    const whole = Buffer.concat(d.chunks as Buffer[]);
    if (whole.length !== d.manifest.file_size || sha256Hex(whole) !== d.manifest.checksum) {
      return this.finishDownload(d, new StandardPeerError('CHECKSUM_MISMATCH', `${d.manifest.file_name} does not match its SHA-256`));
    }
    this.addServed(d.manifest, whole);
    this.addSource(d.manifest.file_id, this.id);
    // One envelope (one message_id) for every connection, so receivers can deduplicate it.
    const availability = this.createEnvelope('file_availability', { file_id: d.manifest.file_id, peers: [this.id] });
    for (const conn of this.broadcastConnections()) this.sendEnvelope(conn, availability);
    this.finishDownload(d, whole);
  }

  private finishDownload(d: DownloadState, outcome: Buffer | Error): void {
    if (!this.downloads.delete(d)) return;
    for (const timer of d.inFlight.values()) clearTimeout(timer);
    d.inFlight.clear();
    if (outcome instanceof Error) d.reject(outcome);
    else d.resolve(outcome);
    this.changed();
  }
}

/**
 * Asks the node at the other end of `conn` for chunk 0 of `fileId`, as a standard peer would; true if
 * a file_chunk for it arrives within `waitMs`. Tests of what must never be served wait briefly for
 * the false; the same call on a shared file is their control that requests do work.
 */
export async function chunkServed(std: StandardPeer, conn: StandardConnection, nodeId: string, fileId: string, waitMs: number): Promise<boolean> {
  std.sendEnvelope(conn, std.createEnvelope('file_chunk_request', { file_id: fileId, chunk_index: 0 }, nodeId));
  return std
    .waitFor(() => std.received.some((r) => r.envelope.type === 'file_chunk' && r.envelope.content?.file_id === fileId), waitMs, 'a file_chunk')
    .then(() => true, () => false);
}
