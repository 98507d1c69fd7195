import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, frame, RawSocket, standardHandshake, standardPeerId } from '../support/raw-socket.ts';
import { at, removeTempDirs, startTestNode, waitFor } from '../support/test-node.ts';
import type { TestNode } from '../support/test-node.ts';

/** Every hostile connection must be handled while an honest peer keeps chatting with the node. */
let node: TestNode;
let honest: TestNode;

beforeAll(async () => {
  node = await startTestNode({ name: 'target' });
  honest = await startTestNode({ name: 'honest', connect: [at(node)] });
  await waitFor(() => node.peer.connectionTo(honest.peer.id), 10_000, 'the honest peer');
});

afterAll(async () => {
  await Promise.all([node?.close(), honest?.close()]);
  await removeTempDirs();
});

function closeLogged(code: string) {
  return node.waitForLog((l) => l.msg === 'connection closed' && l.code === code);
}

async function honestPeerStillServed(text: string): Promise<void> {
  const sent = await honest.messaging.send(text, node.peer.id);
  await waitFor(() => node.history.get(sent.payload.message_id), 10_000, 'the honest message');
}

describe('hostile input on the TCP port', () => {
  it('closes a connection that sends a 4 GiB length prefix, at once, and logs why', async () => {
    const raw = await RawSocket.connect(node.tcpPort);
    await raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b]));
    expect(await raw.closedWithin(5_000)).toBe(true);
    const line = await closeLogged('FRAME_TOO_LARGE');
    expect(line.reason).toMatch(/4294967295/);
    await honestPeerStillServed('after the 4 GiB prefix');
  });

  it('closes a connection that sends random bytes', async () => {
    const raw = await RawSocket.connect(node.tcpPort);
    await raw.write(randomBytes(4096));
    // Either the random prefix is over the cap (closed at once) or the junk never completes a
    // handshake (closed by the handshake timeout): both within this bound.
    expect(await raw.closedWithin(20_000)).toBe(true);
    await honestPeerStillServed('after random bytes');
  });

  it('closes a connection whose frame is not JSON', async () => {
    const raw = await RawSocket.connect(node.tcpPort);
    await raw.write(frame('{"version": "1.0", "type": "text", '));
    expect(await raw.closedWithin(5_000)).toBe(true);
    expect((await closeLogged('FRAME_NOT_JSON')).reason).toMatch(/not UTF-8 JSON/);
  });

  it('closes a connection whose envelope has no type', async () => {
    const raw = await RawSocket.connect(node.tcpPort);
    const { type: _omitted, ...noType } = standardHandshake(standardPeerId());
    await raw.write(frame(JSON.stringify(noType)));
    expect(await raw.closedWithin(5_000)).toBe(true);
    expect((await closeLogged('FRAME_NO_ENVELOPE')).reason).toMatch(/type/);
  });

  it('drops a 20,000-character text with an error reply and keeps the connection', async () => {
    const id = standardPeerId();
    const raw = await RawSocket.connect(node.tcpPort);
    await raw.write(frame(JSON.stringify(standardHandshake(id))));
    await waitFor(() => raw.frames.find((f) => f.type === 'handshake'), 10_000, 'the handshake response');
    const failedBefore = node.peer.messagesFailed;
    const long = envelope('text', id, { recipient_id: node.peer.id, content: { text: 'x'.repeat(20_000) } });
    await raw.write(frame(JSON.stringify(long)));
    const error = await waitFor(() => raw.frames.find((f) => f.type === 'error'), 10_000, 'the error reply');
    expect(error.content).toMatchObject({ code: 'bad_content', ref_message_id: long.message_id });
    expect(error.content.message).toMatch(/10000 characters/);
    expect(node.peer.messagesFailed).toBe(failedBefore + 1);
    expect(node.history.get(long.message_id as string)).toBeUndefined();
    await node.waitForLog((l) => l.msg === 'dropped a message' && /10000 characters/.test(String(l.reason)));
    // The connection lives on: a valid text afterwards is accepted.
    const ok = envelope('text', id, { recipient_id: node.peer.id, content: { text: 'short and fine' } });
    await raw.write(frame(JSON.stringify(ok)));
    await waitFor(() => node.history.get(ok.message_id as string), 10_000, 'the valid text');
    expect(raw.closed).toBe(false);
    raw.destroy();
  });

  it('accepts a handshake and a text split into 1-byte writes', async () => {
    const id = standardPeerId();
    const raw = await RawSocket.connect(node.tcpPort);
    const text = envelope('text', id, { recipient_id: null, content: { text: 'one byte at a time' } });
    await raw.writeBytewise(Buffer.concat([frame(JSON.stringify(standardHandshake(id))), frame(JSON.stringify(text))]));
    await waitFor(() => node.history.get(text.message_id as string), 10_000, 'the byte-wise text');
    expect(raw.frames[0]).toMatchObject({ type: 'handshake', content: { handshake_response: true } });
    raw.destroy();
  });

  it('keeps serving the honest peer throughout', async () => {
    await honestPeerStillServed('still here');
    const back = await node.messaging.send('and back', honest.peer.id);
    await waitFor(() => honest.history.get(back.payload.message_id), 10_000, 'the reply');
    expect(node.peer.connectionTo(honest.peer.id)).toBeDefined();
  });
});
