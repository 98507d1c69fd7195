import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../lib/peer/connection.ts';
import { Identity } from '../../lib/peer/identity.ts';
import { MessageHistory } from '../../lib/peer/message-history.ts';
import { canonicalJson, checkEnvelopeSignature, signEnvelope } from '../../lib/peer/message-signature.ts';
import { Messaging } from '../../lib/peer/messaging.ts';
import { Peer } from '../../lib/peer/peer.ts';
import { PeerRegistry } from '../../lib/peer/registry.ts';
import { createMemoryTransportPair } from '../../lib/peer/transport-memory.ts';
import { makeEnvelope } from '../../lib/peer/wire/codec.ts';
import { silentLogger } from '../../lib/util/logger.ts';
import { waitFor } from '../support/test-node.ts';

interface Member {
  peer: Peer;
  messaging: Messaging;
  history: MessageHistory;
}

const members: Member[] = [];
afterEach(async () => {
  for (const m of members.splice(0)) {
    m.messaging.close();
    await m.peer.close();
  }
});

async function member(name: string): Promise<Member> {
  const peer = new Peer({
    identity: await Identity.generate(),
    kind: 'node',
    name,
    registry: new PeerRegistry(),
    log: silentLogger,
    advertiseAddress: () => 'localhost',
  });
  const history = new MessageHistory();
  const m = { peer, history, messaging: new Messaging(peer, history, silentLogger) };
  members.push(m);
  return m;
}

/** Links two members over an in-memory swarm link; resolves with `a`'s connection to `b`. */
async function link(a: Member, b: Member): Promise<Connection> {
  const [ta, tb] = createMemoryTransportPair();
  const c = a.peer.attach(ta, 'dialler');
  b.peer.attach(tb, 'acceptor');
  await waitFor(() => a.peer.connectionTo(b.peer.id) && b.peer.connectionTo(a.peer.id), 5_000, 'the link');
  return c;
}

const entriesOf = (m: Member, id: string) => m.history.list(500).filter((e) => e.payload.message_id === id);

describe('messages relayed between swarm peers', () => {
  it('passes a broadcast on once, unchanged and verifiable by its author signature', async () => {
    const a = await member('A');
    const n = await member('N');
    const b = await member('B');
    await link(a, n);
    await link(n, b);
    const sent = await a.messaging.send('to all', null);
    const id = sent.payload.message_id;
    await waitFor(() => entriesOf(b, id).length > 0, 5_000, 'the broadcast at B');
    await new Promise((r) => setTimeout(r, 100));
    const [atB, ...more] = entriesOf(b, id);
    expect(more).toHaveLength(0);
    expect(entriesOf(n, id)).toHaveLength(1);
    expect(atB!.payload).toEqual(sent.payload);
    expect(atB!.authenticity).toBe('signed');
    expect(entriesOf(n, id)[0]!.authenticity).toBe('signed');
  });

  it("refuses a relayed text that a relay altered or signed in the author's name; marks an unsigned one", async () => {
    const a = await member('A');
    const n = await member('N');
    const b = await member('B');
    const nToB = await link(n, b);
    const original = await signEnvelope(
      makeEnvelope('text', a.peer.id, { content: { text: 'pay 1' }, recipientId: null }),
      a.peer.identity,
    );

    const altered = { ...original, content: { ...original.content, text: 'pay 1000' } };
    const resigned = await signEnvelope(
      makeEnvelope('text', a.peer.id, { content: { text: 'pay 2' }, recipientId: null }),
      n.peer.identity,
    );
    const unsigned = makeEnvelope('text', a.peer.id, {
      content: { text: 'no signature' },
      recipientId: null,
    });
    const inBsName = makeEnvelope('text', b.peer.id, {
      content: { text: 'B never wrote this' },
      recipientId: null,
    });
    for (const envelope of [altered, resigned, inBsName, unsigned]) await nToB.sendEnvelope(envelope, 'chat');

    await waitFor(() => entriesOf(b, unsigned.message_id).length > 0, 5_000, 'the unsigned text at B');
    await new Promise((r) => setTimeout(r, 100));
    expect(entriesOf(b, altered.message_id)).toHaveLength(0);
    expect(entriesOf(b, resigned.message_id)).toHaveLength(0);
    expect(entriesOf(b, inBsName.message_id)).toHaveLength(0);
    expect(entriesOf(b, unsigned.message_id)[0]!.authenticity).toBe('unverified');
    expect(b.peer.messagesFailed).toBeGreaterThanOrEqual(2);
  });
});

describe('direct messages between swarm peers that are not linked', () => {
  it('go through a neighbour that reaches both, signed, and are acknowledged back the same way', async () => {
    const a = await member('A');
    const n = await member('N');
    const b = await member('B');
    await link(a, n);
    await link(n, b);
    const bAtA = await waitFor(() => a.peer.registry.get(b.peer.id), 5_000, 'B listed at A');
    expect(bAtA).toMatchObject({ kind: 'node', status: 'online', transport: 'relay', via: n.peer.id });

    const sent = await a.messaging.send('just for B', b.peer.id);
    const id = sent.payload.message_id;
    await waitFor(() => entriesOf(b, id).length > 0, 5_000, 'the text at B');
    expect(entriesOf(b, id)[0]!.payload).toEqual(sent.payload);
    expect(entriesOf(b, id)[0]!.authenticity).toBe('signed');
    expect(entriesOf(n, id)).toHaveLength(0);
    await waitFor(() => a.history.get(id)?.status === 'delivered', 5_000, 'the ack back at A');
  });

  it('fall back to the relay when their own link drops', async () => {
    const a = await member('A');
    const n = await member('N');
    const b = await member('B');
    await link(a, n);
    await link(n, b);
    await waitFor(() => a.peer.registry.get(b.peer.id)?.via, 5_000, 'B listed at A through N');
    const direct = await link(a, b);
    expect(a.peer.registry.get(b.peer.id)).toMatchObject({ via: null, status: 'online' });
    direct.close();
    await waitFor(() => !a.peer.connectionTo(b.peer.id), 5_000, 'the direct link closed');
    expect(a.peer.registry.get(b.peer.id)).toMatchObject({
      transport: 'relay',
      via: n.peer.id,
      status: 'online',
    });
    expect(a.messaging.relay.route(b.peer.id)?.peerId).toBe(n.peer.id);
  });
});

describe('author signatures', () => {
  it('survive re-serialisation with other key order, and name the reason a check fails', async () => {
    const author = await Identity.generate();
    const signed = await signEnvelope(
      makeEnvelope('text', author.peerId, { content: { text: 'hi' }, recipientId: 'sd-x' }),
      author,
    );
    const reversed = (o: object) => Object.fromEntries(Object.entries(o).reverse());
    const reordered = JSON.parse(JSON.stringify(reversed({ ...signed, content: reversed(signed.content!) })));
    expect(Object.keys(reordered)[0]).not.toBe(Object.keys(signed)[0]);
    expect(await checkEnvelopeSignature(reordered, false)).toEqual({ ok: true, authenticity: 'signed' });
    expect(await checkEnvelopeSignature({ ...signed, timestamp: signed.timestamp + 1 }, false)).toMatchObject(
      { ok: false, reason: expect.stringMatching(/forged or altered/) },
    );
    expect(
      await checkEnvelopeSignature({ ...signed, sender_id: (await Identity.generate()).peerId }, false),
    ).toMatchObject({ ok: false, reason: expect.stringMatching(/not the sender's/) });
    expect(await checkEnvelopeSignature({ ...signed, content: { text: 'hi' } }, true)).toEqual({
      ok: true,
      authenticity: 'link',
    });
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: 1.5 })).toBe(
      '{"a":1.5,"b":[1,{"c":"x","d":null}]}',
    );
  });
});
