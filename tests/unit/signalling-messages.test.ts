import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIGNAL_LIMITS,
  SIGNAL_CLOSE_CODES,
  SIGNAL_ERROR_CODES,
  SIGNALLING_MESSAGES,
  joinTranscript,
  messageBytes,
  parseClientMessage,
  parseServerMessage,
  signalPayload,
} from '../../lib/peer/signalling/messages.ts';

const alice = 'sd-' + 'a'.repeat(40);
const bob = 'sd-' + '0123456789'.repeat(4);

function clientOk(value: unknown) {
  const result = parseClientMessage(JSON.stringify(value));
  if (!result.ok) throw new Error(`expected a valid message, got ${result.code}: ${result.reason}`);
  return result.message;
}

describe('client → server messages', () => {
  it('accepts a join and defaults a missing name to null', () => {
    const message = clientOk({
      type: 'join',
      peer_id: alice,
      key: 'a2V5',
      signature: 'c2ln',
      kind: 'browser',
    });
    expect(message).toMatchObject({ type: 'join', peer_id: alice, kind: 'browser', name: null });
  });

  it('accepts list with and without a cursor, and signal with opaque data', () => {
    expect(clientOk({ type: 'list' })).toEqual({ type: 'list' });
    expect(clientOk({ type: 'list', cursor: bob, id: '7' })).toEqual({ type: 'list', cursor: bob, id: '7' });
    const data = { sdp: 'v=0\r\n...', type: 'offer', nested: { any: [1, 'thing'] } };
    expect(clientOk({ type: 'signal', to: bob, data })).toMatchObject({ type: 'signal', to: bob, data });
  });

  it('ignores unknown fields instead of refusing the message', () => {
    expect(clientOk({ type: 'list', later_field: { x: 1 } })).toMatchObject({ type: 'list' });
  });

  it('says the text is not JSON', () => {
    const result = parseClientMessage('{"type": "list"');
    expect(result).toMatchObject({ ok: false, code: 'not_json' });
    expect(!result.ok && result.reason).toMatch(/not JSON/);
  });

  it('refuses JSON that is not an object, or has no type', () => {
    expect(parseClientMessage('[1,2]')).toMatchObject({
      ok: false,
      code: 'bad_message',
      reason: 'message must be a JSON object',
    });
    expect(parseClientMessage('null')).toMatchObject({ ok: false, code: 'bad_message' });
    expect(parseClientMessage('{"id":"3"}')).toMatchObject({ ok: false, code: 'bad_message', ref: '3' });
  });

  it('names an unknown type, the known ones, and echoes the request id', () => {
    const result = parseClientMessage(JSON.stringify({ type: 'offer', id: 'r1' }));
    expect(result).toMatchObject({ ok: false, code: 'unknown_type', ref: 'r1' });
    expect(!result.ok && result.reason).toMatch(/"offer".*join, list, signal/);
  });

  it('names the bad field of a known type', () => {
    const badTarget = parseClientMessage(JSON.stringify({ type: 'signal', to: 'bob', data: {}, id: '9' }));
    expect(badTarget).toMatchObject({ ok: false, code: 'bad_message', ref: '9' });
    expect(!badTarget.ok && badTarget.reason).toMatch(/^invalid signal: to: must be a swarm peer id/);

    const badData = parseClientMessage(JSON.stringify({ type: 'signal', to: bob, data: 'offer' }));
    expect(!badData.ok && badData.reason).toMatch(/data/);

    const badKind = parseClientMessage(
      JSON.stringify({ type: 'join', peer_id: alice, key: 'k', signature: 's', kind: 'tab' }),
    );
    expect(!badKind.ok && badKind.reason).toMatch(/kind/);
  });

  it('does not take a server-only type from a client, nor a client-only type from a server', () => {
    expect(
      parseClientMessage(
        JSON.stringify({ type: 'peer-joined', peer: { peer_id: alice, kind: 'node', name: null } }),
      ),
    ).toMatchObject({
      ok: false,
      code: 'unknown_type',
    });
    expect(parseServerMessage(JSON.stringify({ type: 'list' }))).toMatchObject({
      ok: false,
      code: 'unknown_type',
    });
  });
});

describe('server → client messages', () => {
  it('requires from on a delivered signal, which a sent one may leave out', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'signal', to: bob, data: {} }))).toMatchObject({
      ok: false,
      code: 'bad_message',
    });
    expect(
      parseServerMessage(JSON.stringify({ type: 'signal', from: alice, to: bob, data: { candidate: 'c' } })),
    ).toMatchObject({
      ok: true,
      message: { from: alice, to: bob, data: { candidate: 'c' } },
    });
  });

  it('parses peers pages, errors, and the challenge', () => {
    const page = { type: 'peers', peers: [{ peer_id: bob, kind: 'node', name: 'b' }], next: bob, ref: '2' };
    expect(parseServerMessage(JSON.stringify(page))).toEqual({ ok: true, message: page });
    expect(
      parseServerMessage(JSON.stringify({ type: 'error', code: 'rate_limited', message: 'slow down' })),
    ).toMatchObject({ ok: true });
    expect(parseServerMessage(JSON.stringify({ type: 'challenge', version: 1, nonce: '' }))).toMatchObject({
      ok: false,
      code: 'bad_message',
    });
  });

  it('carries the same {type, from, to, data} signal payload on either path', () => {
    const relayed = { type: 'signal', from: alice, to: bob, data: { sdp: 'x', type: 'answer' } };
    expect(signalPayload.safeParse(relayed).success).toBe(true);
    expect(parseClientMessage(JSON.stringify(relayed)).ok).toBe(true);
    expect(parseServerMessage(JSON.stringify(relayed)).ok).toBe(true);
  });
});

describe('join proof and limits', () => {
  it('signs exactly "swarmdrop-signal/1\\n<nonce>\\n<peer_id>"', () => {
    expect(new TextDecoder().decode(joinTranscript('Tm9uY2U=', alice))).toBe(
      `swarmdrop-signal/1\nTm9uY2U=\n${alice}`,
    );
  });

  it('keeps a full page of peers with the longest names under the message size limit', () => {
    // Control characters are escaped by JSON.stringify to six bytes each: the worst case per name.
    const worstName = '\u0001'.repeat(64);
    const peers = Array.from({ length: DEFAULT_SIGNAL_LIMITS.peersPerPage }, () => ({
      peer_id: alice,
      kind: 'browser',
      name: worstName,
    }));
    const text = JSON.stringify({ type: 'peers', peers, next: alice, ref: 'x'.repeat(64) });
    expect(parseServerMessage(text).ok).toBe(true);
    expect(messageBytes(text)).toBeLessThan(DEFAULT_SIGNAL_LIMITS.maxMessageBytes);
  });

  it('refuses names over 64 characters', () => {
    const result = parseClientMessage(
      JSON.stringify({
        type: 'join',
        peer_id: alice,
        key: 'k',
        signature: 's',
        kind: 'node',
        name: 'n'.repeat(65),
      }),
    );
    expect(result).toMatchObject({ ok: false, code: 'bad_message' });
  });

  it('gives every closing error code a close code in the application range (or 1001 going away)', () => {
    for (const [code, closeCode] of Object.entries(SIGNAL_CLOSE_CODES)) {
      expect(SIGNAL_ERROR_CODES).toContain(code);
      expect(closeCode === 1001 || (closeCode >= 4000 && closeCode <= 4999)).toBe(true);
    }
    expect(new Set(Object.values(SIGNAL_CLOSE_CODES)).size).toBe(Object.keys(SIGNAL_CLOSE_CODES).length);
  });

  it('lists each type once per direction', () => {
    expect(Object.keys(SIGNALLING_MESSAGES.client).sort()).toEqual(['join', 'list', 'signal']);
    expect(Object.keys(SIGNALLING_MESSAGES.server).sort()).toEqual([
      'challenge',
      'error',
      'joined',
      'peer-joined',
      'peer-left',
      'peers',
      'signal',
    ]);
  });
});
