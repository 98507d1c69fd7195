import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ed25519Crypto, useEd25519Crypto, webCryptoEd25519 } from '../../lib/peer/ed25519.ts';
import { nodeEd25519Crypto } from '../../lib/peer/ed25519.node.ts';
import { Identity, peerIdFromPublicKey, verifySignature } from '../../lib/peer/identity.ts';

const data = new TextEncoder().encode('swarmdrop-message/1\n["text"]');
const implementations = { webcrypto: webCryptoEd25519, node: nodeEd25519Crypto };

afterEach(() => useEd25519Crypto(webCryptoEd25519));

describe('Ed25519 implementations', () => {
  it('defaults to WebCrypto until a process installs another', () => {
    expect(ed25519Crypto()).toBe(webCryptoEd25519);
    useEd25519Crypto(nodeEd25519Crypto);
    expect(ed25519Crypto()).toBe(nodeEd25519Crypto);
  });

  for (const [signerName, signer] of Object.entries(implementations)) {
    for (const [verifierName, verifier] of Object.entries(implementations)) {
      it(`verifies with ${verifierName} what ${signerName} signed, and nothing altered`, async () => {
        const identity = await Identity.generate();
        useEd25519Crypto(signer);
        const signature = await identity.sign(data);
        expect(signature).toHaveLength(64);
        useEd25519Crypto(verifier);
        expect(await verifySignature(identity.publicKeyRaw, signature, data)).toBe(true);
        const altered = data.slice();
        altered[0] = altered[0]! ^ 1;
        expect(await verifySignature(identity.publicKeyRaw, signature, altered)).toBe(false);
        const other = await Identity.generate();
        expect(await verifySignature(other.publicKeyRaw, signature, data)).toBe(false);
      });
    }
  }

  it('signs deterministically: both give the same signature for the same key and bytes', async () => {
    const identity = await Identity.generate();
    useEd25519Crypto(webCryptoEd25519);
    const a = await identity.sign(data);
    useEd25519Crypto(nodeEd25519Crypto);
    expect(await identity.sign(data)).toEqual(a);
  });

  it('node: a malformed key or signature is false, never a throw', async () => {
    useEd25519Crypto(nodeEd25519Crypto);
    const identity = await Identity.generate();
    const signature = await identity.sign(data);
    expect(await verifySignature(new Uint8Array(32).fill(0xff), signature, data)).toBe(false);
    expect(await verifySignature(identity.publicKeyRaw, new Uint8Array(64), data)).toBe(false);
    expect(await verifySignature(identity.publicKeyRaw.subarray(0, 31), signature, data)).toBe(false);
  });

  it('node: peer ids are the same SHA-256 as with WebCrypto, also for a key inside a larger buffer', async () => {
    const identity = await Identity.generate();
    useEd25519Crypto(nodeEd25519Crypto);
    const padded = new Uint8Array(40);
    padded.set(identity.publicKeyRaw, 5);
    const view = padded.subarray(5, 37);
    expect(await peerIdFromPublicKey(view)).toBe(identity.peerId);
    expect(await nodeEd25519Crypto.sha256(view)).toEqual(new Uint8Array(createHash('sha256').update(view).digest()));
  });
});
