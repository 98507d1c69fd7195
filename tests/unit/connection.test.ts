import { afterEach, describe, expect, it } from 'vitest';
import { advertiseRule } from '../../bootstrap-node/node.ts';
import { Connection } from '../../lib/peer/connection.ts';
import type { RemoteInfo } from '../../lib/peer/connection.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { createMemoryTransportPair } from '../../lib/peer/transport-memory.ts';
import type { Transport } from '../../lib/peer/transport.ts';
import { encodeEnvelope, makeEnvelope } from '../../lib/peer/wire/codec.ts';
import { bytesToBase64 } from '../../lib/util/base64.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { realTimers } from '../../lib/util/timers.ts';

const open: Connection[] = [];
afterEach(() => open.splice(0).forEach((c) => c.close()));

function connection(transport: Transport, role: 'dialler' | 'acceptor', identity: Identity, name: string | null = null) {
  const c = new Connection({
    transport,
    role,
    log: silentLogger,
    timers: realTimers,
    handshakeTimeoutMs: 2_000,
    local: { identity, kind: 'node', name, port: 5000, advertiseAddress: () => 'localhost' },
  });
  open.push(c);
  return c;
}

const opened = (c: Connection) =>
  new Promise<RemoteInfo>((resolve, reject) => {
    c.once('open', resolve);
    c.once('close', (err) => reject(err ?? new Error('closed')));
  });
/** A dialler's swarm handshake that claims `claimedId` and presents `keyOf`'s public key (no proof needed yet). */
function diallerHello(claimedId: string, keyOf: Identity) {
  return makeEnvelope('handshake', claimedId, {
    content: {
      address: 'localhost',
      port: 1,
      public_key: keyOf.publicKeyPem(),
      handshake_response: false,
      swarm: { version: 1, kind: 'node', name: null, key: bytesToBase64(keyOf.publicKeyRaw), nonce: 'bm9uY2U=' },
    },
  });
}

const closed = (c: Connection) => new Promise<Error | undefined>((resolve) => c.once('close', resolve));

describe('connection handshake between swarm peers', () => {
  it('opens on both sides with each identity proven', async () => {
    const [alice, bob] = await Promise.all([Identity.generate(), Identity.generate()]);
    const [ta, tb] = createMemoryTransportPair();
    const dialler = connection(ta, 'dialler', alice, 'alice');
    const acceptor = connection(tb, 'acceptor', bob, 'bob');
    const [seenByAlice, seenByBob] = await Promise.all([opened(dialler), opened(acceptor)]);
    expect(seenByAlice).toMatchObject({ peerId: bob.peerId, kind: 'node', name: 'bob', verified: true, swarmVersion: 1 });
    expect(seenByBob).toMatchObject({ peerId: alice.peerId, kind: 'node', name: 'alice', verified: true, swarmVersion: 1 });
  });

  it('refuses a dialler that claims an id its key does not derive', async () => {
    const [victim, mallory, bob] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()]);
    const [tm, tb] = createMemoryTransportPair();
    const acceptor = connection(tb, 'acceptor', bob);
    const done = closed(acceptor);
    await tm.send(encodeEnvelope(diallerHello(victim.peerId, mallory)));
    const err = await done;
    expect(err).toMatchObject({ code: 'IDENTITY_MISMATCH' });
    expect(err?.message).toMatch(/not derived from its key/);
  });

  it('refuses a dialler that presents the right key but cannot sign for it', async () => {
    const [victim, bob] = await Promise.all([Identity.generate(), Identity.generate()]);
    const [tm, tb] = createMemoryTransportPair();
    const acceptor = connection(tb, 'acceptor', bob);
    const done = closed(acceptor);
    // Mallory replays the victim's public hello, then must answer Bob's fresh nonce: she cannot.
    await tm.send(encodeEnvelope(diallerHello(victim.peerId, victim)));
    await tm.send(encodeEnvelope(makeEnvelope('swarm_auth', victim.peerId, { content: { proof: bytesToBase64(new Uint8Array(64)) } })));
    expect(await done).toMatchObject({ code: 'IDENTITY_MISMATCH' });
    expect(acceptor.state).toBe('closed');
  });

  it('refuses a standard handshake that borrows a swarm-style id', async () => {
    const [victim, bob] = await Promise.all([Identity.generate(), Identity.generate()]);
    const [tm, tb] = createMemoryTransportPair();
    const acceptor = connection(tb, 'acceptor', bob);
    const done = closed(acceptor);
    await tm.send(
      encodeEnvelope(
        makeEnvelope('handshake', victim.peerId, {
          content: { address: 'localhost', port: 1, public_key: null, handshake_response: false },
        }),
      ),
    );
    expect(await done).toMatchObject({ code: 'IDENTITY_MISMATCH' });
  });
});

describe('the advertised address', () => {
  const transport = (localAddress: string, kind = 'tcp') => ({ localAddress, kind }) as Transport;

  it('never answers a dialler with the address it dialled (the reference peer hangs up on that)', () => {
    const rule = advertiseRule('127.0.0.1');
    expect(rule(transport('127.0.0.1'), 'acceptor')).toBe('localhost');
    expect(rule(transport('127.0.0.1'), 'dialler')).toBe('127.0.0.1');
    expect(rule(transport('10.1.2.3'), 'acceptor')).toBe('127.0.0.1');
    expect(advertiseRule('node.example')(transport('127.0.0.1'), 'acceptor')).toBe('node.example');
  });

  it('is announced as it is over WebRTC, where peer exchange passes it on as the TCP address', () => {
    expect(advertiseRule('127.0.0.1')(transport('127.0.0.1', 'webrtc'), 'acceptor')).toBe('127.0.0.1');
  });
});
