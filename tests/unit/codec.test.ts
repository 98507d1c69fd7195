import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeEnvelope, makeEnvelope } from '../../lib/peer/wire/codec.ts';
import type { MessageType } from '../../lib/peer/wire/schema.ts';
import { capturedFrames, FIXTURES_DIR, frameShape } from '../support/captured-frames.ts';

const captured = capturedFrames;

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('wire codec against frames captured from the reference peer', () => {
  it('decodes every frame of the capture as a valid message of its type', () => {
    expect(captured.length).toBeGreaterThan(5);
    for (const { frame } of captured) {
      const result = decodeMessage(bytes(frame));
      expect(result.kind, JSON.stringify(frame).slice(0, 120)).toBe('message');
      if (result.kind === 'message') {
        expect(result.message.type).toBe(frame.type);
        expect(result.message.raw).toEqual(frame);
      }
    }
  });

  it('decodes the captured chunk to exactly the shared test vector', () => {
    const chunk = captured.find((c) => c.frame.type === 'file_chunk')!.frame;
    const data = Buffer.from(chunk.content.data, 'base64');
    const vector = readFileSync(new URL('standard-vector.txt', FIXTURES_DIR));
    expect(data.equals(vector)).toBe(true);
    expect(createHash('sha256').update(data).digest('hex')).toBe(chunk.content.file_id);
  });

  it('makes envelopes of the same shape as the captured frames, type by type', () => {
    const sender = 'sd-0000000000000000000000000000000000000000';
    for (const { frame } of captured) {
      const type = frame.type as MessageType;
      const ours = makeEnvelope(type, sender, {
        ...(frame.content !== undefined ? { content: frame.content } : {}),
        ...('recipient_id' in frame ? { recipientId: frame.recipient_id } : {}),
      });
      expect(frameShape(JSON.parse(new TextDecoder().decode(encodeEnvelope(ours)))), type).toEqual(frameShape(frame));
      expect(ours.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describe('decode outcomes', () => {
  const base = { version: '1.0', sender_id: 'p', message_id: 'm', timestamp: 1 };

  it('reports a framing error for what is not a JSON envelope', () => {
    expect(decodeMessage(new TextEncoder().encode('{"a":'))).toMatchObject({ kind: 'framing', code: 'FRAME_NOT_JSON' });
    expect(decodeMessage(Uint8Array.of(0xff, 0xfe))).toMatchObject({ kind: 'framing', code: 'FRAME_NOT_JSON' });
    expect(decodeMessage(bytes([1, 2]))).toMatchObject({ kind: 'framing', code: 'FRAME_NO_ENVELOPE' });
    expect(decodeMessage(bytes({ ...base }))).toMatchObject({ kind: 'framing', code: 'FRAME_NO_ENVELOPE', reason: expect.stringMatching(/type/) });
    expect(decodeMessage(bytes({ ...base, type: 'text', timestamp: 'now' }))).toMatchObject({ kind: 'framing' });
  });

  it('reports bad content with a reason, and ignores unknown types and fields', () => {
    const long = decodeMessage(bytes({ ...base, type: 'text', content: { text: 'x'.repeat(10_001) } }));
    expect(long).toMatchObject({ kind: 'bad-content', reason: expect.stringMatching(/10000 characters/) });
    const badIndex = decodeMessage(bytes({ ...base, type: 'file_chunk_request', content: { file_id: 'a'.repeat(64), chunk_index: -1 } }));
    expect(badIndex.kind).toBe('bad-content');
    expect(decodeMessage(bytes({ ...base, type: 'from_the_future', content: {} })).kind).toBe('unknown-type');
    const extra = decodeMessage(bytes({ ...base, type: 'text', extra: 1, content: { text: 'hi', mood: 'good' } }));
    expect(extra).toMatchObject({ kind: 'message', message: { content: { text: 'hi' } } });
  });
});
