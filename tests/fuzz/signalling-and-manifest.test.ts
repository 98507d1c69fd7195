import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkClaimedIdentity, verifyProof } from '../../lib/peer/handshake.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { parseClientMessage, parseServerMessage } from '../../lib/peer/signalling/messages.ts';
import type { ParseResult } from '../../lib/peer/signalling/messages.ts';
import { swarmHelloSchema } from '../../lib/peer/wire/schema.ts';
import { chunkCount, MAX_LEAF_COUNT, MAX_RECEIVED_CHUNK_BYTES, validateContentInfo, validateStandardManifest } from '../../lib/transfer/manifest.ts';
import { bytesToBase64 } from '../../lib/util/base64.ts';
import { fuzzParams, hostileValue, mutatedObject, withinHangBound, withinHangBoundAsync } from '../support/fuzz.ts';

/**
 * Fuzzing of the signalling messages (/signal, both directions), the manifest and content-info
 * validators, and the identity checks of the handshake: every input gets a documented outcome, none
 * throws, none hangs.
 */

const ALICE = 'sd-' + 'a'.repeat(40);
const BOB = 'sd-' + '0123456789'.repeat(4);
const FILE_ID = 'cd'.repeat(32);

const VALID_CLIENT = [
  { type: 'join', peer_id: ALICE, key: 'a2V5', signature: 'c2ln', kind: 'browser', name: 'tab' },
  { type: 'list', cursor: BOB, id: 'r1' },
  { type: 'signal', to: BOB, data: { sdp: 'v=0', type: 'offer' }, from: ALICE, id: 'r2' },
];
const VALID_SERVER = [
  { type: 'challenge', version: 1, nonce: 'bm9uY2U=', limits: { max_message_bytes: 1, messages_per_second: 1, burst_messages: 1, peers_per_page: 1, idle_timeout_ms: 1, join_timeout_ms: 1, hold_ms: 1, hold_max_messages: 1 } },
  { type: 'joined', peer_id: ALICE, peers: [{ peer_id: BOB, kind: 'node', name: null }], next: BOB },
  { type: 'peers', peers: [{ peer_id: BOB, kind: 'node', name: 'n' }], ref: 'r1' },
  { type: 'signal', from: BOB, to: ALICE, data: { candidate: 'c' } },
  { type: 'peer-joined', peer: { peer_id: BOB, kind: 'browser', name: null } },
  { type: 'peer-left', peer_id: BOB },
  { type: 'error', code: 'bad_message', message: 'm', ref: 'r1' },
];

function checkParseOutcome(parse: (text: string) => ParseResult<unknown>, text: string): void {
  const result = withinHangBound(() => parse(text));
  if (result.ok) {
    expect(typeof (result.message as { type: unknown }).type).toBe('string');
    return;
  }
  expect(['not_json', 'bad_message', 'unknown_type']).toContain(result.code);
  expect(result.reason.length).toBeGreaterThan(0);
  // The reason is echoed to the sender and logged: it must stay short whatever the input was.
  expect(result.reason.length).toBeLessThan(2048);
  if (result.ref !== undefined) expect(result.ref.length).toBeLessThanOrEqual(64);
}

describe('signalling messages', () => {
  for (const [side, parse, valid] of [
    ['client → server', parseClientMessage, VALID_CLIENT],
    ['server → client', parseServerMessage, VALID_SERVER],
  ] as const) {
    describe(side, () => {
      it('accepts each valid message', () => {
        for (const message of valid) expect(parse(JSON.stringify(message)).ok, JSON.stringify(message)).toBe(true);
      });

      it('answers arbitrary text with a documented outcome', () => {
        fc.assert(fc.property(fc.string({ maxLength: 1024, unit: 'binary' }), (text) => checkParseOutcome(parse, text)), fuzzParams());
      });

      it('answers arbitrary JSON with a documented outcome', () => {
        fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => checkParseOutcome(parse, JSON.stringify(value))), fuzzParams());
      });

      it('answers valid messages with a field replaced, removed or re-typed', () => {
        const mutated = mutatedObject(fc.constantFrom(...(valid as unknown as Record<string, unknown>[])));
        fc.assert(fc.property(mutated, (value) => checkParseOutcome(parse, JSON.stringify(value))), fuzzParams());
      });

      it('answers valid messages cut short or with a character changed', () => {
        const text = fc.constantFrom(...valid.map((m) => JSON.stringify(m)));
        fc.assert(
          fc.property(text, fc.nat(), fc.string({ maxLength: 2 }), (t, at, replacement) => {
            const i = at % (t.length + 1);
            checkParseOutcome(parse, t.slice(0, i));
            checkParseOutcome(parse, t.slice(0, i) + replacement + t.slice(i + 1));
          }),
          fuzzParams(),
        );
      });

      it('keeps its reason short for an unknown type of any length', () => {
        checkParseOutcome(parse, JSON.stringify({ type: 'x'.repeat(100_000), id: 'y'.repeat(100_000) }));
      });
    });
  }
});

const validManifest = fc
  .record({ fileSize: fc.maxSafeNat(), chunkSize: fc.integer({ min: 1, max: MAX_RECEIVED_CHUNK_BYTES }) })
  .map(({ fileSize, chunkSize }) => ({
    file_id: FILE_ID,
    file_name: 'report.pdf',
    file_size: fileSize,
    chunk_size: chunkSize,
    chunk_count: chunkCount(fileSize, chunkSize),
    checksum: FILE_ID,
    owner: ALICE,
  }));

describe('manifest validation', () => {
  function checkManifestOutcome(value: unknown): void {
    const result = withinHangBound(() => validateStandardManifest(value));
    if (!result.ok) {
      expect(result.reason.length).toBeGreaterThan(0);
      return;
    }
    const m = result.manifest;
    expect(m.file_id).toMatch(/^[0-9a-f]{64}$/);
    expect(m.checksum).toBe(m.file_id);
    expect(Number.isSafeInteger(m.file_size) && m.file_size >= 0).toBe(true);
    expect(m.chunk_size >= 1 && m.chunk_size <= MAX_RECEIVED_CHUNK_BYTES).toBe(true);
    expect(m.chunk_count).toBe(chunkCount(m.file_size, m.chunk_size));
    expect(m.file_name.length).toBeGreaterThan(0);
    expect(Object.keys(m).sort()).toEqual(['checksum', 'chunk_count', 'chunk_size', 'file_id', 'file_name', 'file_size', 'owner']);
  }

  it('accepts valid manifests of any size and chunk size', () => {
    fc.assert(fc.property(validManifest, (m) => {
      expect(validateStandardManifest(m).ok).toBe(true);
    }), fuzzParams());
  });

  it('answers arbitrary values with a manifest or a reason', () => {
    fc.assert(fc.property(fc.anything(), checkManifestOutcome), fuzzParams());
  });

  it('answers manifests with a field replaced, removed or re-typed, and ones that lie about size or count', () => {
    fc.assert(fc.property(mutatedObject(validManifest), checkManifestOutcome), fuzzParams());
  });

  it('answers content infos with a field replaced, against any file size', () => {
    const info = validManifest.map((m) => ({ root: FILE_ID, chunk_size: m.chunk_size, hash_count: m.chunk_count }));
    fc.assert(
      fc.property(fc.oneof(mutatedObject(info), info, fc.anything()), fc.maxSafeNat(), (value, fileSize) => {
        const result = withinHangBound(() => validateContentInfo(value, fileSize));
        if (!result.ok) return;
        expect(result.value.hash_count).toBe(chunkCount(fileSize, result.value.chunk_size));
        expect(result.value.hash_count).toBeLessThanOrEqual(MAX_LEAF_COUNT);
      }),
      fuzzParams(),
    );
  });
});

describe('handshake identity checks', () => {
  const identity = Identity.generate();

  it('answers any swarm hello that passes its schema with a key or a reason, never a throw', async () => {
    const me = await identity;
    const key = bytesToBase64(me.publicKeyRaw);
    const hello = fc.record({
      version: fc.constant(1),
      kind: fc.constantFrom('node', 'browser'),
      name: fc.constant(null),
      key: fc.oneof(fc.constant(key), fc.base64String({ maxLength: 128 }), fc.string({ maxLength: 128 })),
      nonce: fc.string({ maxLength: 128 }),
    });
    const sender = fc.oneof(fc.constant(me.peerId), fc.string({ maxLength: 64 }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(hello, mutatedObject(hello)), sender, async (raw, senderId) => {
        const parsed = swarmHelloSchema.safeParse(raw);
        if (!parsed.success) return;
        const claim = await withinHangBoundAsync(() => checkClaimedIdentity(senderId, parsed.data));
        if (claim.ok) expect(senderId).toBe(me.peerId);
        else expect(claim.reason.length).toBeGreaterThan(0);
      }),
      fuzzParams(),
    );
  });

  it('verifies no proof but a real one: arbitrary keys, proofs and nonces give false, never a throw', async () => {
    const me = await identity;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(me.publicKeyRaw), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 })),
        fc.option(fc.oneof(fc.base64String({ maxLength: 256 }), fc.string({ maxLength: 256 }), hostileValue.map((v) => JSON.stringify(v) ?? "")), { nil: undefined }),
        fc.string({ maxLength: 64 }),
        async (key, proof, nonce) => {
          const ok = await withinHangBoundAsync(() => verifyProof(key, proof, 'dialler', nonce, me.peerId, BOB));
          expect(ok).toBe(false);
        },
      ),
      fuzzParams(),
    );
  });
});
