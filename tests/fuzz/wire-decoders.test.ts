import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES } from '../../lib/peer/constants.ts';
import { isSwarmError } from '../../lib/peer/errors.ts';
import { CHUNK_FRAME_HEADER_BYTES, decodeChunkFrame, encodeChunkFrame } from '../../lib/peer/wire/chunk-frame.ts';
import { decodeMessage, encodeEnvelope, makeEnvelope } from '../../lib/peer/wire/codec.ts';
import { encodeFrame, FrameReader } from '../../lib/peer/wire/frame-reader.ts';
import { isMessageType } from '../../lib/peer/wire/schema.ts';
import { fuzzParams, mutatedBytes, mutatedObject, utf8, withinHangBound } from '../support/fuzz.ts';
import { concatBytes } from '../../lib/util/bytes.ts';

/**
 * Fuzzing of the peer-wire decoders: standard JSON frames (codec.ts), the length-prefix reader
 * (frame-reader.ts) and the swarm binary chunk frame (chunk-frame.ts). Each decoder must answer every
 * input with one of its documented outcomes, never throw otherwise, never hang, and never buffer
 * more than its cap.
 */

const SENDER = 'sd-0123456789abcdef0123456789abcdef01234567';
const FILE_ID = 'ab'.repeat(32);

/** One valid envelope of every message type we know, as a peer would send it. */
const VALID_ENVELOPES: Record<string, unknown>[] = [
  makeEnvelope('handshake', SENDER, {
    content: {
      address: '127.0.0.1',
      port: 5000,
      public_key: null,
      handshake_response: false,
      swarm: { version: 1, kind: 'node', name: 'n', key: 'A'.repeat(44), nonce: 'B'.repeat(44) },
    },
  }),
  makeEnvelope('text', SENDER, { content: { text: 'hello' }, recipientId: null }),
  makeEnvelope('ack', SENDER, { content: { message_id: 'x' } }),
  makeEnvelope('ping', SENDER, { recipientId: SENDER }),
  makeEnvelope('pong', SENDER, { recipientId: SENDER }),
  makeEnvelope('error', SENDER, { content: { code: 'E', message: 'm', ref_message_id: null } }),
  makeEnvelope('file_manifest', SENDER, {
    content: {
      file_id: FILE_ID,
      file_name: 'a.txt',
      file_size: 100,
      chunk_size: 64,
      chunk_count: 2,
      checksum: FILE_ID,
      owner: SENDER,
      swarm_content: { root: FILE_ID, chunk_size: 64, hash_count: 2 },
    },
  }),
  makeEnvelope('file_chunk_request', SENDER, { content: { file_id: FILE_ID, chunk_index: 1, chunk_size: 64 } }),
  makeEnvelope('file_chunk', SENDER, { content: { file_id: FILE_ID, chunk_index: 0, data: 'aGVsbG8=' } }),
  makeEnvelope('file_complete', SENDER, { content: { file_id: FILE_ID } }),
  makeEnvelope('file_availability', SENDER, { content: { file_id: FILE_ID, peers: [SENDER] } }),
  makeEnvelope('swarm_auth', SENDER, { content: { proof: 'C'.repeat(88) } }),
  makeEnvelope('hashes_request', SENDER, { content: { file_id: FILE_ID, start: 0, count: 2 } }),
  makeEnvelope('hashes', SENDER, { content: { file_id: FILE_ID, start: 0, hashes: 'AAAA', proof: '' } }),
  makeEnvelope('have', SENDER, { content: { file_id: FILE_ID, chunk_size: 64, indexes: [0, 1], bitfield: 'wA==' } }),
  makeEnvelope('chunk_unavailable', SENDER, { content: { file_id: FILE_ID, chunk_index: 0, chunk_size: 64 } }),
  makeEnvelope('cancel', SENDER, { content: { file_id: FILE_ID, chunk_index: 0, chunk_size: 64 } }),
  makeEnvelope('signal_relay', SENDER, { content: { from: SENDER, to: SENDER, data: { sdp: 'v=0', type: 'offer' } } }),
  makeEnvelope('peers', SENDER, { content: { peers: [{ peer_id: SENDER, kind: 'browser', name: null, tcp: false }] } }),
] as unknown as Record<string, unknown>[];

const validEnvelope = fc.constantFrom(...VALID_ENVELOPES);

/** The documented outcomes of decodeMessage, and what each must carry. */
function checkDecodeOutcome(payload: Uint8Array): void {
  const result = withinHangBound(() => decodeMessage(payload));
  switch (result.kind) {
    case 'message':
      expect(isMessageType(result.message.type)).toBe(true);
      expect(typeof result.message.sender_id).toBe('string');
      break;
    case 'unknown-type':
      expect(isMessageType(result.envelope.type)).toBe(false);
      break;
    case 'bad-content':
      expect(result.reason).toMatch(/^bad /);
      break;
    case 'framing':
      expect(['FRAME_NOT_JSON', 'FRAME_NO_ENVELOPE']).toContain(result.code);
      expect(result.reason.length).toBeGreaterThan(0);
      break;
    default:
      throw new Error(`undocumented outcome ${JSON.stringify(result)}`);
  }
}

describe('standard frame decoder (decodeMessage)', () => {
  it('decodes every valid envelope as a message of its type', () => {
    for (const envelope of VALID_ENVELOPES) {
      const result = decodeMessage(encodeEnvelope(envelope as never));
      expect(result.kind, JSON.stringify(envelope)).toBe('message');
    }
  });

  it('answers arbitrary bytes with a documented outcome', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), checkDecodeOutcome), fuzzParams());
  });

  it('answers arbitrary JSON with a documented outcome', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => checkDecodeOutcome(utf8(value))), fuzzParams());
  });

  it('answers valid envelopes with a field replaced by a wrong type, an edge value, or removed', () => {
    fc.assert(fc.property(mutatedObject(validEnvelope), (value) => checkDecodeOutcome(utf8(value))), fuzzParams());
  });

  it('answers byte-level mutations of valid envelopes (bit flips, truncation, insertions)', () => {
    const validBytes = validEnvelope.map((e) => encodeEnvelope(e as never));
    fc.assert(fc.property(mutatedBytes(validBytes), checkDecodeOutcome), fuzzParams());
  });

  it('answers deeply nested JSON without blowing the stack', () => {
    for (const depth of [1_000, 100_000]) {
      checkDecodeOutcome(utf8(`${'['.repeat(depth)}${']'.repeat(depth)}`));
      checkDecodeOutcome(utf8(`{"version":"1.0","type":"text","sender_id":"a","message_id":"b","timestamp":1,"content":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    }
  });
});

describe('length-prefixed frame reader (FrameReader)', () => {
  const CAP_BYTES = 4096;

  /** Feeds `chunks`; the only throw allowed is FRAME_TOO_LARGE, after which the reader stays poisoned. */
  function feed(chunks: Uint8Array[]): void {
    const reader = new FrameReader({ maxFrameBytes: CAP_BYTES });
    let poisoned = false;
    for (const chunk of chunks) {
      try {
        const payloads = withinHangBound(() => reader.push(chunk));
        expect(poisoned).toBe(false);
        for (const payload of payloads) expect(payload.length).toBeLessThanOrEqual(CAP_BYTES);
      } catch (err) {
        if (!isSwarmError(err, 'FRAME_TOO_LARGE')) throw err;
        poisoned = true;
      }
      // Memory bound: what stays buffered is less than one frame (its prefix or its payload), never
      // more than the cap, whatever the stream announced.
      expect(reader.bufferedBytes).toBeLessThanOrEqual(CAP_BYTES);
    }
  }

  it('takes arbitrary byte streams in arbitrary pieces, within its cap', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 1024 }), { maxLength: 20 }), feed), fuzzParams());
  });

  it('takes mutated streams of valid frames (huge lengths, truncation, flips), within its cap', () => {
    const stream = fc
      .array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 })
      .map((payloads) => concatBytes(payloads.map(encodeFrame)));
    fc.assert(
      fc.property(mutatedBytes(stream), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => feed(split(bytes, cuts))),
      fuzzParams(),
    );
  });

  it('never buffers past the cap, even when one push carries far more than a frame', () => {
    const reader = new FrameReader({ maxFrameBytes: CAP_BYTES });
    // A prefix announcing exactly the cap, then a payload's worth plus the start of the next frame.
    const big = concatBytes([encodeFrame(new Uint8Array(CAP_BYTES)), Uint8Array.of(0, 0, 0x10)]);
    expect(reader.push(big)).toHaveLength(1);
    expect(reader.bufferedBytes).toBeLessThan(FRAME_HEADER_BYTES);
  });
});

describe('swarm binary chunk frame (decodeChunkFrame)', () => {
  const validFrame = fc
    .record({ chunkIndex: fc.nat({ max: 0xffff_ffff }), chunkSize: fc.integer({ min: 1, max: 512 }), fill: fc.nat({ max: 512 }) })
    .map(({ chunkIndex, chunkSize, fill }) =>
      encodeChunkFrame({ fileId: FILE_ID, chunkIndex, chunkSize, data: new Uint8Array(Math.min(fill, chunkSize)) }),
    );

  function checkChunkOutcome(bytes: Uint8Array): void {
    const result = withinHangBound(() => decodeChunkFrame(bytes));
    if (!result.ok) {
      expect(result.reason.length).toBeGreaterThan(0);
      return;
    }
    const { frame } = result;
    expect(frame.fileId).toMatch(/^[0-9a-f]{64}$/);
    expect(frame.chunkSize).toBeGreaterThan(0);
    expect(frame.data.byteLength).toBeLessThanOrEqual(frame.chunkSize);
    expect(frame.data.byteLength).toBe(bytes.byteLength - CHUNK_FRAME_HEADER_BYTES);
    expect(Number.isInteger(frame.chunkIndex) && frame.chunkIndex >= 0).toBe(true);
  }

  it('answers arbitrary bytes with a frame or a reason', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), checkChunkOutcome), fuzzParams());
  });

  it('answers mutated valid frames with a frame or a reason', () => {
    fc.assert(fc.property(mutatedBytes(validFrame), checkChunkOutcome), fuzzParams());
  });

  it('decodes a frame that lies inside a larger buffer (a view) from its own offset', () => {
    fc.assert(
      fc.property(validFrame, fc.uint8Array({ maxLength: 8 }), (frame, before) => {
        const host = concatBytes([before, frame]);
        const result = decodeChunkFrame(host.subarray(before.length));
        expect(result.ok).toBe(true);
      }),
      fuzzParams(),
    );
  });
});

function split(bytes: Uint8Array, rawCuts: number[]): Uint8Array[] {
  const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  return out;
}
