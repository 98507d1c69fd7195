import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../lib/peer/connection.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { createMemoryTransportPair } from '../../lib/peer/transport-memory.ts';
import { encodeEnvelope, makeEnvelope } from '../../lib/peer/wire/codec.ts';
import { bytesToBase64 } from '../../lib/util/base64.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { realTimers } from '../../lib/util/timers.ts';
import { fuzzParams, mutatedBytes, mutatedObject } from '../support/fuzz.ts';

/**
 * Fuzzing of handshake parsing where it runs: a real acceptor Connection fed, over an in-memory
 * transport, a (possibly mangled) handshake followed by (possibly mangled) frames. Whatever arrives,
 * the connection ends either open or closed, throws nothing, and closes cleanly.
 */

/** Handshakes and frames are async: each input is one short exchange, so fewer inputs than the pure decoders. */
const CONNECTION_RUNS_DIVISOR = 10;

describe('acceptor connection fed hostile handshakes and frames', () => {
  it('ends open or closed, never throws', async () => {
    const [me, them] = await Promise.all([Identity.generate(), Identity.generate()]);
    const hello = makeEnvelope('handshake', them.peerId, {
      content: {
        address: 'localhost',
        port: 1,
        public_key: them.publicKeyPem(),
        handshake_response: false,
        swarm: { version: 1, kind: 'node', name: null, key: bytesToBase64(them.publicKeyRaw), nonce: 'bm9uY2U=' },
      },
    }) as unknown as Record<string, unknown>;
    const standardHello = makeEnvelope('handshake', 'standard-peer-1', {
      content: { address: 'localhost', port: 1, public_key: null, handshake_response: false },
    }) as unknown as Record<string, unknown>;
    const handshake = fc.oneof(
      fc.constantFrom(hello, standardHello).map((h) => encodeEnvelope(h as never)),
      mutatedObject(fc.constantFrom(hello, standardHello)).map((h) => encodeEnvelope(h as never)),
      mutatedBytes(fc.constantFrom(hello, standardHello).map((h) => encodeEnvelope(h as never))),
    );
    const later = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      mutatedObject(
        fc.constantFrom(
          makeEnvelope('swarm_auth', them.peerId, { content: { proof: 'AAAA' } }),
          makeEnvelope('text', them.peerId, { content: { text: 'hi' }, recipientId: null }),
          makeEnvelope('ping', them.peerId, { recipientId: me.peerId }),
        ) as unknown as fc.Arbitrary<Record<string, unknown>>,
      ).map((e) => encodeEnvelope(e as never)),
    );
    const params = fuzzParams<[Uint8Array, Uint8Array[]]>();
    await fc.assert(
      fc.asyncProperty(handshake, fc.array(later, { maxLength: 4 }), async (first, rest) => {
        const [remote, local] = createMemoryTransportPair();
        const connection = new Connection({
          transport: local,
          role: 'acceptor',
          log: silentLogger,
          timers: realTimers,
          handshakeTimeoutMs: 2_000,
          local: { identity: me, kind: 'node', name: null, port: 5000, advertiseAddress: () => 'localhost' },
        });
        remote.on('frame', () => {}); // the acceptor's answers
        for (const frame of [first, ...rest]) {
          if (remote.closed) break;
          await remote.send(frame).catch(() => {});
        }
        // Let the acceptor handle what it was sent (signature checks are async).
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(['handshaking', 'authenticating', 'open', 'closed']).toContain(connection.state);
        connection.close();
        connection.close(); // safe twice
        expect(connection.state).toBe('closed');
        remote.close();
      }),
      { ...params, numRuns: Math.max(1, Math.floor((params.numRuns ?? 100) / CONNECTION_RUNS_DIVISOR)) },
    );
  });
});
