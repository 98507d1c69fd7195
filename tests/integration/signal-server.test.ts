import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import { attachSignalServer } from '../../bootstrap-node/signal-server.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { SignallingClient } from '../../lib/peer/signalling/client.ts';
import type { SignallingError } from '../../lib/peer/signalling/client.ts';
import { DEFAULT_SIGNAL_LIMITS, joinTranscript } from '../../lib/peer/signalling/messages.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/**
 * The /signal endpoint of a real node: honest clients join, list and signal each other while hostile
 * sockets send garbage and floods; the honest pair must keep exchanging signals throughout.
 */

/** A bare WebSocket that records what the endpoint says, for speaking the protocol by hand. */
class RawSignal {
  readonly messages: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly ws: WebSocket;

  private constructor(url: string, options?: ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse(data.toString()));
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens a socket and waits for the challenge. */
  static async open(url: string, options?: ClientOptions): Promise<RawSignal> {
    const raw = new RawSignal(url, options);
    await raw.next((m) => m.type === 'challenge');
    return raw;
  }

  get nonce(): string {
    return this.messages.find((m) => m.type === 'challenge').nonce;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The first message (from `from` on) matching `predicate`. */
  next(predicate: (m: any) => boolean, from = 0, timeoutMs = 5_000): Promise<any> {
    return waitFor(() => this.messages.slice(from).find(predicate), timeoutMs, 'a signalling message');
  }

  /** Sends `message` and waits for the first error after it. */
  async expectError(message: unknown): Promise<any> {
    const mark = this.messages.length;
    this.send(message);
    return this.next((m) => m.type === 'error', mark);
  }

  async join(identity: Identity, signWith: Identity = identity, nonce = this.nonce): Promise<void> {
    const signature = await signWith.sign(joinTranscript(nonce, identity.peerId));
    this.send({
      type: 'join',
      peer_id: identity.peerId,
      key: Buffer.from(identity.publicKeyRaw).toString('base64'),
      signature: Buffer.from(signature).toString('base64'),
      kind: 'node',
      name: null,
    });
  }

  async closedWithin(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the socket stayed open')), timeoutMs),
      ),
    ]);
  }
}

function signalUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/signal`;
}

async function joinedClient(url: string, name: string) {
  const identity = await Identity.generate();
  const client = new SignallingClient({ identity, kind: 'node', name, WebSocket });
  const received: { from: string; data: Record<string, unknown> }[] = [];
  const errors: SignallingError[] = [];
  client.on('signal', (from, data) => received.push({ from, data }));
  client.on('error', (err) => errors.push(err));
  const firstPage = await client.connect(url);
  return { identity, client, received, errors, firstPage };
}

type Joined = Awaited<ReturnType<typeof joinedClient>>;

let node: TestNode;
let url: string;
let alice: Joined;
let bob: Joined;
let exchanges = 0;

/** One signal each way between the honest pair, delivered and matched. */
async function honestExchange(): Promise<void> {
  const n = ++exchanges;
  alice.client.send(bob.client.peerId, { sdp: `offer ${n}`, type: 'offer' });
  await waitFor(
    () => bob.received.some((s) => s.from === alice.client.peerId && s.data.sdp === `offer ${n}`),
    5_000,
    `offer ${n}`,
  );
  bob.client.send(alice.client.peerId, { sdp: `answer ${n}`, type: 'answer' });
  await waitFor(
    () => alice.received.some((s) => s.from === bob.client.peerId && s.data.sdp === `answer ${n}`),
    5_000,
    `answer ${n}`,
  );
}

/** Candidates alice trickles to bob in the background during every hostile test. */
let trickleSent = 0;
let trickle: ReturnType<typeof setInterval> | undefined;

beforeAll(async () => {
  // The endpoint alone: the node's own WebRTC side would join and offer links to the test clients.
  node = await startTestNode({ name: 'signal-host' }, { webrtc: false });
  url = signalUrl(node.apiUrl);
  alice = await joinedClient(url, 'alice');
  bob = await joinedClient(url, 'bob');
});

afterAll(async () => {
  clearInterval(trickle);
  await Promise.all([alice?.client.close(), bob?.client.close()]);
  await node?.close();
  await removeTempDirs();
});

describe('signalling between honest peers', () => {
  it('joins with a proven id, lists the others, and forwards signals both ways', async () => {
    expect(bob.firstPage.peers).toEqual([{ peer_id: alice.client.peerId, kind: 'node', name: 'alice' }]);
    expect(bob.client.state).toBe('joined');
    expect(await alice.client.listAll()).toEqual([{ peer_id: bob.client.peerId, kind: 'node', name: 'bob' }]);
    await honestExchange();
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });

  it('tells present peers who joins and leaves', async () => {
    const joins: string[] = [];
    const leaves: string[] = [];
    const offJoin = alice.client.on('peer-joined', (peer) => joins.push(peer.peer_id));
    const offLeave = alice.client.on('peer-left', (id) => leaves.push(id));
    const carol = await joinedClient(url, 'carol');
    await waitFor(() => joins.includes(carol.client.peerId), 5_000, 'peer-joined');
    await carol.client.close();
    await waitFor(() => leaves.includes(carol.client.peerId), 5_000, 'peer-left');
    offJoin();
    offLeave();
  });

  it('holds a signal for a peer that has not joined yet and delivers it when it does', async () => {
    const dave = await Identity.generate();
    const ref = alice.client.send(dave.peerId, { sdp: 'early offer', type: 'offer' });
    await new Promise((r) => setTimeout(r, 200));
    const client = new SignallingClient({ identity: dave, kind: 'browser', name: null, WebSocket });
    const got: { from: string; data: Record<string, unknown> }[] = [];
    client.on('signal', (from, data) => got.push({ from, data }));
    await client.connect(url);
    await waitFor(() => got.length > 0, 5_000, 'the held signal');
    expect(got).toEqual([{ from: alice.client.peerId, data: { sdp: 'early offer', type: 'offer' } }]);
    expect(alice.errors.filter((e) => e.ref === ref)).toEqual([]);
    await client.close();
  });

  it('lets a second join with the same id replace the first socket', async () => {
    const erin = await Identity.generate();
    const first = new SignallingClient({ identity: erin, kind: 'node', WebSocket });
    const closes: { code: number; reason: string }[] = [];
    first.on('close', (info) => closes.push(info));
    await first.connect(url);
    const second = new SignallingClient({ identity: erin, kind: 'node', WebSocket });
    await second.connect(url);
    await waitFor(() => closes.length > 0, 5_000, 'the replaced socket to close');
    expect(closes[0]).toEqual({ code: 4003, reason: 'replaced' });
    alice.client.send(erin.peerId, { candidate: 'c1' });
    const got = await new Promise<unknown>((resolve) =>
      second.once('signal', (_from, data) => resolve(data)),
    );
    expect(got).toEqual({ candidate: 'c1' });
    expect((await alice.client.listAll()).map((p) => p.peer_id)).toContain(erin.peerId);
    await second.close();
  });
});

describe('refusals', () => {
  it('refuses a join whose signature was made with another key, and closes', async () => {
    const raw = await RawSignal.open(url);
    const mark = raw.messages.length;
    await raw.join(await Identity.generate(), await Identity.generate());
    const error = await raw.next((m) => m.type === 'error', mark);
    expect(error.code).toBe('auth_failed');
    expect(error.message).toMatch(/signature does not verify/);
    expect(await raw.closedWithin()).toEqual({ code: 4001, reason: 'auth_failed' });
  });

  it('refuses a signature over another nonce, and an id not derived from the key', async () => {
    const replay = await RawSignal.open(url);
    await replay.join(await Identity.generate(), undefined, 'b3RoZXIgbm9uY2U=');
    expect(await replay.closedWithin()).toEqual({ code: 4001, reason: 'auth_failed' });

    const impostor = await RawSignal.open(url);
    const mine = await Identity.generate();
    const signature = await mine.sign(joinTranscript(impostor.nonce, alice.client.peerId));
    const error = await impostor.expectError({
      type: 'join',
      peer_id: alice.client.peerId,
      key: Buffer.from(mine.publicKeyRaw).toString('base64'),
      signature: Buffer.from(signature).toString('base64'),
      kind: 'node',
    });
    expect(error).toMatchObject({
      code: 'auth_failed',
      message: `peer_id ${alice.client.peerId} is not derived from key`,
    });
    await impostor.closedWithin();
    await honestExchange(); // alice was not displaced
  });

  it('refuses upgrades on other paths', async () => {
    const ws = new WebSocket(`${url.replace(/\/signal$/, '')}/not-signal`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});

describe('flood and garbage on /signal while honest peers keep signalling', () => {
  beforeAll(() => {
    trickle = setInterval(() => {
      trickleSent++;
      alice.client.send(bob.client.peerId, { candidate: `trickle ${trickleSent}` });
    }, 50);
  });

  it('answers invalid JSON, binary frames, unknown types and bad fields with clear errors, and stays open', async () => {
    const raw = await RawSignal.open(url);
    expect(await raw.expectError('{"type": "list"')).toMatchObject({
      code: 'not_json',
      message: expect.stringMatching(/not JSON/),
    });
    expect(await raw.expectError(Buffer.from([1, 2, 3]))).toMatchObject({
      code: 'not_json',
      message: expect.stringMatching(/binary/),
    });
    expect(await raw.expectError('[]')).toMatchObject({
      code: 'bad_message',
      message: 'message must be a JSON object',
    });
    expect(await raw.expectError({ type: 'offer', id: 'q1' })).toMatchObject({
      code: 'unknown_type',
      ref: 'q1',
    });
    expect(await raw.expectError({ type: 'signal', to: 'bob', data: {} })).toMatchObject({
      code: 'bad_message',
      message: expect.stringMatching(/^invalid signal: to:/),
    });
    expect(await raw.expectError({ type: 'list', id: 'q2' })).toMatchObject({
      code: 'not_joined',
      ref: 'q2',
    });
    await raw.join(await Identity.generate());
    await raw.next((m) => m.type === 'joined');
    expect(
      await raw.expectError({
        type: 'join',
        peer_id: alice.client.peerId,
        key: 'a',
        signature: 'b',
        kind: 'node',
      }),
    ).toMatchObject({ code: 'already_joined' });
    expect(
      await raw.expectError({ type: 'signal', to: alice.client.peerId, from: bob.client.peerId, data: {} }),
    ).toMatchObject({ code: 'bad_message', message: expect.stringMatching(/from must be your own peer id/) });
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    await honestExchange();
    raw.ws.close();
  });

  it('answers a message over the size limit with too_large, and closes on one far over it', async () => {
    const raw = await RawSignal.open(url);
    await raw.join(await Identity.generate());
    await raw.next((m) => m.type === 'joined');
    const oversized = JSON.stringify({
      type: 'signal',
      to: bob.client.peerId,
      data: { sdp: 'x'.repeat(DEFAULT_SIGNAL_LIMITS.maxMessageBytes) },
    });
    const error = await raw.expectError(oversized);
    expect(error).toMatchObject({
      code: 'too_large',
      message: `message is ${oversized.length} bytes; the limit is ${DEFAULT_SIGNAL_LIMITS.maxMessageBytes}`,
    });
    const mark = raw.messages.length;
    raw.send({ type: 'list', id: 'still-open' });
    expect(await raw.next((m) => m.type === 'peers', mark)).toMatchObject({ ref: 'still-open' });
    expect(bob.received.some((s) => typeof s.data.sdp === 'string' && s.data.sdp.length > 1000)).toBe(false);

    raw.send('x'.repeat(1024 * 1024));
    expect((await raw.closedWithin()).code).toBe(1009);
    await honestExchange();
  });

  it('rate-limits 1,000 messages a second and closes the flooding socket', async () => {
    const raw = await RawSignal.open(url);
    const flooder = await Identity.generate();
    await raw.join(flooder);
    await raw.next((m) => m.type === 'joined');
    const batches = 10;
    for (let b = 0; b < batches && raw.ws.readyState === WebSocket.OPEN; b++) {
      for (let i = 0; i < 100; i++)
        raw.send({ type: 'signal', to: bob.client.peerId, data: { candidate: `flood ${b}.${i}` } });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await raw.closedWithin()).toEqual({ code: 4008, reason: 'rate_limited' });
    const errors = raw.messages.filter((m) => m.type === 'error');
    expect(errors[0]).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/over 50 messages\/s/),
    });
    expect(errors.at(-1)).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/closing/) });
    // Only what the rate allowed got through to bob, never the whole flood.
    const flooded = bob.received.filter((s) => s.from === flooder.peerId).length;
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThan(1000);
    await honestExchange();
  });

  it('holds signals for an absent target, refuses more than the hold takes, and drops them when the sender leaves', async () => {
    const raw = await RawSignal.open(url);
    await raw.join(await Identity.generate());
    await raw.next((m) => m.type === 'joined');
    const late = await Identity.generate();
    const mark = raw.messages.length;
    for (let i = 0; i < DEFAULT_SIGNAL_LIMITS.holdMaxMessages; i++)
      raw.send({ type: 'signal', to: late.peerId, data: { n: i }, id: `h${i}` });
    const full = await raw.expectError({ type: 'signal', to: late.peerId, data: {}, id: 'one-too-many' });
    expect(full).toMatchObject({
      code: 'hold_full',
      ref: 'one-too-many',
      message: expect.stringMatching(/32 signals already wait/),
    });
    expect(raw.messages.slice(mark).filter((m) => m.type === 'error')).toHaveLength(1);
    raw.ws.close();
    await raw.closed;

    // The sender left, so its held signals must not reach the target when it turns up: the first
    // signal the target sees is alice's, sent after it joined.
    const target = await RawSignal.open(url);
    await target.join(late);
    await target.next((m) => m.type === 'joined');
    alice.client.send(late.peerId, { sdp: 'after the sender left' });
    const first = await target.next((m) => m.type === 'signal');
    expect(first).toEqual({
      type: 'signal',
      from: alice.client.peerId,
      to: late.peerId,
      data: { sdp: 'after the sender left' },
    });
    target.ws.close();
    await honestExchange();
  });

  it('kept every trickled signal from alice to bob, in order, through all of the above', async () => {
    clearInterval(trickle);
    const sent = trickleSent;
    expect(sent).toBeGreaterThan(0);
    const expected = Array.from({ length: sent }, (_, i) => `trickle ${i + 1}`);
    const got = () =>
      bob.received
        .filter((s) => s.from === alice.client.peerId && String(s.data.candidate).startsWith('trickle'))
        .map((s) => s.data.candidate);
    await waitFor(() => got().length === sent, 5_000, 'every trickled signal');
    expect(got()).toEqual(expected);
    expect(alice.errors).toEqual([]);
    expect(alice.client.state).toBe('joined');
    expect(bob.client.state).toBe('joined');
  });
});

describe('timeouts, hold expiry and shutdown (own server with short limits)', () => {
  it('closes idle and never-joined sockets, keeps pinged ones, expires held signals, and closes everyone on shutdown', async () => {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = attachSignalServer(http, {
      log: silentLogger,
      limits: { idleTimeoutMs: 900, joinTimeoutMs: 900, holdMs: 600 },
    });
    const shortUrl = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/signal`;
    try {
      const silent = await RawSignal.open(shortUrl, { autoPong: false });
      await silent.join(await Identity.generate());
      await silent.next((m) => m.type === 'joined');
      const neverJoins = await RawSignal.open(shortUrl);
      const healthy = await joinedClient(shortUrl, 'healthy');
      const ref = healthy.client.send('sd-' + 'e'.repeat(40), { sdp: 'to nobody' });

      expect(await silent.closedWithin(5_000)).toEqual({ code: 4004, reason: 'idle_timeout' });
      expect(silent.messages.at(-1)).toMatchObject({ code: 'idle_timeout' });
      expect(await neverJoins.closedWithin(5_000)).toEqual({ code: 4002, reason: 'join_timeout' });
      await waitFor(() => healthy.errors.length > 0, 5_000, 'the hold to expire');
      expect(healthy.errors[0]).toMatchObject({
        code: 'unknown_peer',
        ref,
        message: expect.stringMatching(/is not present \(waited 600 ms/),
      });

      // Silent but answering pings: still joined well past the idle timeout.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(healthy.client.state).toBe('joined');
      expect(server.peers().map((p) => p.peer_id)).toEqual([healthy.client.peerId]);

      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        healthy.client.on('close', resolve),
      );
      await Promise.all([server.close(), server.close()]);
      expect(await closed).toEqual({ code: 1001, reason: 'shutting_down' });
      expect(healthy.errors.at(-1)).toMatchObject({ code: 'shutting_down' });
      expect(server.peers()).toEqual([]);
    } finally {
      await server.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
