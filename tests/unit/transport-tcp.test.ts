import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isSwarmError } from '../../lib/peer/errors.ts';
import { listenTcp, type TcpListener } from '../../lib/peer/tcp-listener.node.ts';
import { dialTcp, TcpTransport } from '../../lib/peer/transport-tcp.node.ts';
import { encodeFrame } from '../../lib/peer/wire/frame-reader.ts';
import { runTransportContract } from './transport-contract.ts';

const LOOPBACK = '127.0.0.1';
const MIB = 1024 * 1024;

/**
 * Loopback kernel buffers (send buffer up to net.ipv4.tcp_wmem's 4 MiB, receive buffer autotuned
 * toward tcp_rmem's maximum) can hold many MiB between the ends; this bound leaves room for them
 * while staying far below what an unbounded sender would reach in the contract tests.
 */
const TCP_MAX_IN_FLIGHT_BYTES = 16 * MIB;

let listener: TcpListener;
/** Accepted transports not yet claimed by a test, and tests waiting for one. */
const accepted: TcpTransport[] = [];
const waiting: ((t: TcpTransport) => void)[] = [];

function nextAccepted(): Promise<TcpTransport> {
  const ready = accepted.shift();
  return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
}

beforeAll(async () => {
  listener = await listenTcp({ host: LOOPBACK, port: 0 }, (t) => {
    const waiter = waiting.shift();
    if (waiter) waiter(t);
    else accepted.push(t);
  });
});

afterAll(async () => {
  await listener.close();
});

async function tcpPair(): Promise<[TcpTransport, TcpTransport]> {
  const [dialled, acceptedEnd] = await Promise.all([dialTcp(LOOPBACK, listener.port), nextAccepted()]);
  return [dialled, acceptedEnd];
}

runTransportContract('tcp', tcpPair, { maxInFlightBytes: TCP_MAX_IN_FLIGHT_BYTES });

const HELLO = new TextEncoder().encode('{"hello":1}');
const RESPONSE = new TextEncoder().encode('{"response":1}');

/**
 * A pair upgraded to TLS the way two swarm peers do it: one plain frame each way, each side holding
 * the stream at its last plain frame, then the dialler as TLS client and the acceptor as TLS server.
 */
async function tlsPair(): Promise<[TcpTransport, TcpTransport]> {
  const [dialler, acceptor] = await tcpPair();
  const acceptorReady = new Promise<void>((resolve, reject) =>
    acceptor.once('frame', () => {
      acceptor.tlsUpgrade.hold();
      acceptor
        .send(RESPONSE)
        .then(() => acceptor.tlsUpgrade.start('server'))
        .then(resolve, reject);
    }),
  );
  const diallerReady = new Promise<void>((resolve, reject) =>
    dialler.once('frame', () => {
      dialler.tlsUpgrade.hold();
      dialler.tlsUpgrade.start('client').then(resolve, reject);
    }),
  );
  await dialler.send(HELLO);
  await Promise.all([acceptorReady, diallerReady]);
  return [dialler, acceptor];
}

runTransportContract('tcp upgraded to TLS', tlsPair, { maxInFlightBytes: TCP_MAX_IN_FLIGHT_BYTES });

/** A plain socket to the shared listener, for sending bytes the transport would never produce. */
async function rawClient(): Promise<{ socket: net.Socket; server: TcpTransport }> {
  const socket = net.connect(listener.port, LOOPBACK);
  const [server] = await Promise.all([nextAccepted(), new Promise((r) => socket.once('connect', r))]);
  return { socket, server };
}

function closeOf(t: TcpTransport): Promise<Error | undefined> {
  return new Promise((resolve) => t.once('close', resolve));
}

describe('TCP transport', () => {
  it('reports kind, the remote address and port, and bytes in and out', async () => {
    const [a, b] = await tcpPair();
    expect(a.kind).toBe('tcp');
    expect(a.remoteAddress).toBe(LOOPBACK);
    expect(a.remotePort).toBe(listener.port);
    expect(b.remoteAddress).toBe(LOOPBACK);
    const got = new Promise<Uint8Array>((r) => b.once('frame', r));
    await a.send(new Uint8Array(10));
    await got;
    expect(a.bytesWritten).toBe(14);
    expect(b.bytesRead).toBe(14);
    a.close();
    b.close();
  });

  it('reads frames split and coalesced by the remote', async () => {
    const { socket, server } = await rawClient();
    const got: string[] = [];
    server.on('frame', (f) => got.push(Buffer.from(f).toString()));
    const stream = Buffer.concat(['hello', '', 'swarm'].map((s) => encodeFrame(Buffer.from(s))));
    socket.write(stream.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(stream.subarray(3));
    await expect.poll(() => got, { timeout: 10_000 }).toEqual(['hello', '', 'swarm']);
    socket.destroy();
    server.close();
  });

  it('closes with FRAME_TOO_LARGE when the remote announces a 4 GiB frame', async () => {
    const { socket, server } = await rawClient();
    const closed = closeOf(server);
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const err = await closed;
    expect(isSwarmError(err, 'FRAME_TOO_LARGE')).toBe(true);
    expect(err?.message).toContain('4294967295');
    expect(server.closed).toBe(true);
    // The transport dropped the socket, so the raw client sees it end.
    await new Promise((r) => (socket.destroyed ? r(null) : socket.once('close', r)));
  });

  it('closes with an error when the remote stops in the middle of a frame', async () => {
    const { socket, server } = await rawClient();
    const closed = closeOf(server);
    socket.end(Buffer.from([0, 0, 0, 10, 1, 2]));
    const err = await closed;
    expect(isSwarmError(err, 'TRANSPORT_ERROR')).toBe(true);
  });

  it('delivers what was sent before an orderly close', async () => {
    const [a, b] = await tcpPair();
    const got: number[] = [];
    b.on('frame', (f) => got.push(f.length));
    const closed = closeOf(b);
    void a.send(new Uint8Array(MIB));
    void a.send(new Uint8Array(5));
    a.close();
    expect(await closed).toBeUndefined();
    expect(got).toEqual([MIB, 5]);
  });

  it('stops resolving sends while the receiver does not read, and catches up when it does', async () => {
    const { socket, server } = await rawClient();
    socket.pause();
    const frame = new Uint8Array(MIB);
    const total = 4 * TCP_MAX_IN_FLIGHT_BYTES;
    let resolvedBytes = 0;
    const sender = (async () => {
      for (let sent = 0; sent < total; sent += frame.length) {
        await server.send(frame);
        resolvedBytes += frame.length;
      }
    })();
    // However long we wait, a stalled receiver caps what send accepts at the kernel buffers.
    await new Promise((r) => setTimeout(r, 300));
    expect(resolvedBytes).toBeGreaterThan(0);
    expect(resolvedBytes).toBeLessThanOrEqual(TCP_MAX_IN_FLIGHT_BYTES);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await sender;
    await expect.poll(() => received, { timeout: 30_000 }).toBe(total + (total / MIB) * 4);
    socket.destroy();
    server.close();
  });
});

describe('TCP transport upgraded to TLS', () => {
  it('is encrypted on both ends, which see the same tls-exporter binding', async () => {
    const [dialler, acceptor] = await tlsPair();
    expect(dialler.encrypted && acceptor.encrypted).toBe(true);
    expect(dialler.channelBinding).toMatch(/^tls-exporter:[A-Za-z0-9+/]{43}=$/);
    expect(acceptor.channelBinding).toBe(dialler.channelBinding);
    dialler.close();
  });

  it('stays plain, with no binding, until upgraded', async () => {
    const [dialler, acceptor] = await tcpPair();
    expect([dialler.encrypted, acceptor.encrypted, dialler.channelBinding]).toEqual([false, false, undefined]);
    dialler.close();
  });

  it('delivers frames that arrived while held once released, in order, each once', async () => {
    const { socket, server } = await rawClient();
    const got: string[] = [];
    server.on('frame', (f) => {
      if (got.length === 0) server.tlsUpgrade.hold();
      got.push(new TextDecoder().decode(f));
    });
    // Three frames in one write: the first arrives with the other two behind it in the same chunk.
    socket.write(Buffer.concat(['{"n":1}', '{"n":2}', '{"n":3}'].map((t) => encodeFrame(new TextEncoder().encode(t)))));
    await vi.waitFor(() => expect(got).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(1);
    server.tlsUpgrade.release();
    expect(got).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    socket.destroy();
  });

  it('fails as TLS client when the remote hangs up mid-handshake, and closes', async () => {
    const { socket, server } = await rawClient();
    const closed = closeOf(server);
    server.tlsUpgrade.hold();
    const started = server.tlsUpgrade.start('client').catch((err: unknown) => err);
    socket.destroy();
    expect(isSwarmError(await started, 'ENCRYPTION_FAILED')).toBe(true);
    expect(isSwarmError(await closed, 'ENCRYPTION_FAILED')).toBe(true);
  });

  it('gives up a TLS handshake still under way when the transport is closed', async () => {
    // A server-side handshake waits for a ClientHello; the connection's handshake timer ends the wait.
    const { socket, server } = await rawClient();
    server.tlsUpgrade.hold();
    const started = server.tlsUpgrade.start('server').catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    server.close();
    expect(isSwarmError(await started, 'ENCRYPTION_FAILED')).toBe(true);
    socket.destroy();
  });

  it('refuses TLS when the remote sent bytes after its last plain frame, and closes', async () => {
    const { socket, server } = await rawClient();
    const closed = closeOf(server);
    const started = new Promise<unknown>((resolve) =>
      server.once('frame', () => {
        server.tlsUpgrade.hold();
        server.tlsUpgrade.start('server').then(resolve, resolve);
      }),
    );
    // The start of a TLS record (handshake, version 3.x) sent before the plain reply was read.
    socket.write(Buffer.concat([encodeFrame(HELLO), Buffer.from([0x16, 0x03])]));
    const err = await started;
    expect(isSwarmError(err, 'ENCRYPTION_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/between its handshake and TLS/);
    expect(isSwarmError(await closed, 'ENCRYPTION_FAILED')).toBe(true);
    socket.destroy();
  });
});

describe('dialTcp', () => {
  it('rejects with CONNECT_REFUSED, naming host:port, when nothing listens', async () => {
    const free = await listenTcp({ host: LOOPBACK, port: 0 }, () => {});
    const port = free.port;
    await free.close();
    const err = await dialTcp(LOOPBACK, port).catch((e: unknown) => e);
    expect(isSwarmError(err, 'CONNECT_REFUSED')).toBe(true);
    expect((err as Error).message).toBe(
      `connection to ${LOOPBACK}:${port} was refused (nothing is listening there)`,
    );
  });

  it('rejects with CONNECT_FAILED for an invalid port', async () => {
    const err = await dialTcp(LOOPBACK, 70_000).catch((e: unknown) => e);
    expect(isSwarmError(err, 'CONNECT_FAILED')).toBe(true);
    expect((err as Error).message).toContain(`${LOOPBACK}:70000`);
  });
});

describe('listenTcp', () => {
  it('picks a free port for port 0 and reports the bound host', () => {
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.host).toBe(LOOPBACK);
  });

  it('rejects clearly when the port is already in use', async () => {
    const err = await listenTcp({ host: LOOPBACK, port: listener.port }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `cannot listen on ${LOOPBACK}:${listener.port}: the port is already in use (is another node running?)`,
    );
  });

  it('close stops listening and closes every accepted transport; twice is safe', async () => {
    const own: TcpTransport[] = [];
    const second = await listenTcp({ host: LOOPBACK, port: 0 }, (t) => own.push(t));
    const dialled = await dialTcp(LOOPBACK, second.port);
    await expect.poll(() => own.length).toBe(1);
    const remoteClosed = closeOf(dialled);
    await Promise.all([second.close(), second.close()]);
    expect(own[0]!.closed).toBe(true);
    expect(await remoteClosed).toBeUndefined();
    const err = await dialTcp(LOOPBACK, second.port).catch((e: unknown) => e);
    expect(isSwarmError(err, 'CONNECT_REFUSED')).toBe(true);
  });
});
