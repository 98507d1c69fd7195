import { describe, it, expect, afterEach } from 'vitest';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Identity,
  isSwarmPeerId,
  peerIdFromPublicKey,
  publicKeyRawFromPem,
  verifySignature,
  type IdentityJSON,
} from '../../lib/peer/identity.ts';
import { loadOrCreateIdentity } from '../../lib/peer/identity-store.node.ts';
import { isSwarmError } from '../../lib/peer/errors.ts';

const data = new TextEncoder().encode('swarm handshake transcript');

describe('Identity', () => {
  it('derives the peer id from SHA-256 of the raw public key', async () => {
    const identity = await Identity.generate();
    expect(identity.publicKeyRaw).toHaveLength(32);
    const expected = 'sd-' + createHash('sha256').update(identity.publicKeyRaw).digest('hex').slice(0, 40);
    expect(identity.peerId).toBe(expected);
    expect(identity.peerId).toHaveLength(43);
    expect(await peerIdFromPublicKey(identity.publicKeyRaw)).toBe(identity.peerId);
    expect(isSwarmPeerId(identity.peerId)).toBe(true);
  });

  it('gives different identities different ids', async () => {
    const [a, b] = await Promise.all([Identity.generate(), Identity.generate()]);
    expect(a.peerId).not.toBe(b.peerId);
  });

  it('round-trips through JSON with the same id and key', async () => {
    const original = await Identity.generate();
    const json = JSON.parse(JSON.stringify(await original.toJSON())) as IdentityJSON;
    expect(json.peerId).toBe(original.peerId);
    expect(Buffer.from(json.publicKey, 'base64')).toHaveLength(32);

    const restored = await Identity.fromJSON(json);
    expect(restored.peerId).toBe(original.peerId);
    expect(restored.publicKeyRaw).toEqual(original.publicKeyRaw);
    // The restored private key is the same key: its signature verifies under the original public key.
    expect(await verifySignature(original.publicKeyRaw, await restored.sign(data), data)).toBe(true);
    expect(await restored.toJSON()).toEqual(json);
  });

  it('signs, and verification rejects tampering and other keys', async () => {
    const identity = await Identity.generate();
    const other = await Identity.generate();
    const signature = await identity.sign(data);
    expect(signature).toHaveLength(64);
    expect(await verifySignature(identity.publicKeyRaw, signature, data)).toBe(true);

    const tamperedData = data.slice();
    tamperedData[0]! ^= 1;
    expect(await verifySignature(identity.publicKeyRaw, signature, tamperedData)).toBe(false);
    const tamperedSignature = signature.slice();
    tamperedSignature[10]! ^= 0x80;
    expect(await verifySignature(identity.publicKeyRaw, tamperedSignature, data)).toBe(false);
    expect(await verifySignature(other.publicKeyRaw, signature, data)).toBe(false);
  });

  it('returns false, never throws, for malformed keys and signatures', async () => {
    const identity = await Identity.generate();
    const signature = await identity.sign(data);
    const cases: [unknown, unknown, unknown][] = [
      [new Uint8Array(31), signature, data],
      [new Uint8Array(0), signature, data],
      [new Uint8Array(32), signature, data], // not a valid point / not the signer
      [new Uint8Array(32).fill(0xff), signature, data],
      [identity.publicKeyRaw, signature.subarray(0, 63), data],
      [identity.publicKeyRaw, new Uint8Array(0), data],
      [identity.publicKeyRaw, new Uint8Array(64), data],
      [null, signature, data],
      ['key', signature, data],
      [identity.publicKeyRaw, 'sig', data],
      [identity.publicKeyRaw, signature, undefined],
    ];
    for (const [key, sig, msg] of cases) {
      await expect(verifySignature(key as Uint8Array, sig as Uint8Array, msg as Uint8Array)).resolves.toBe(
        false,
      );
    }
  });

  it('writes an SPKI PEM that OpenSSL reads as Ed25519, and reads it back', async () => {
    const identity = await Identity.generate();
    const pem = identity.publicKeyPem();
    expect(pem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    expect(pem.endsWith('-----END PUBLIC KEY-----\n')).toBe(true);
    const key = createPublicKey(pem);
    expect(key.asymmetricKeyType).toBe('ed25519');
    expect(Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url')).toEqual(
      Buffer.from(identity.publicKeyRaw),
    );

    expect(publicKeyRawFromPem(pem)).toEqual(identity.publicKeyRaw);
    expect(publicKeyRawFromPem(pem.replace(/\n/g, '\r\n'))).toEqual(identity.publicKeyRaw);
  });

  it('reads Ed25519 PEM written by OpenSSL, and rejects other keys and garbage', () => {
    const ed = generateKeyPairSync('ed25519');
    const pem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const raw = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(publicKeyRawFromPem(pem)).toEqual(new Uint8Array(raw));

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(publicKeyRawFromPem(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())).toBeNull();
    expect(publicKeyRawFromPem('')).toBeNull();
    expect(publicKeyRawFromPem('-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----')).toBeNull();
    expect(publicKeyRawFromPem(pem.replace('PUBLIC KEY', 'PRIVATE KEY'))).toBeNull();
    expect(publicKeyRawFromPem(null as unknown as string)).toBeNull();
  });

  it('recognises swarm peer ids and nothing else', () => {
    expect(isSwarmPeerId('sd-' + 'a'.repeat(40))).toBe(true);
    expect(isSwarmPeerId('sd-' + 'A'.repeat(40))).toBe(false);
    expect(isSwarmPeerId('sd-' + 'a'.repeat(39))).toBe(false);
    expect(isSwarmPeerId('sd-' + 'a'.repeat(41))).toBe(false);
    expect(isSwarmPeerId('3f2a1c9e-5b7d-4e2a-9c1f-2b3c4d5e6f70-0123456789abcdef')).toBe(false);
    expect(isSwarmPeerId('')).toBe(false);
  });

  it('refuses a peer id from a key that is not 32 bytes', async () => {
    await expect(peerIdFromPublicKey(new Uint8Array(33))).rejects.toSatisfy((err) =>
      isSwarmError(err, 'BAD_CONTENT'),
    );
  });

  it('refuses JSON whose parts do not belong together or do not parse', async () => {
    const a = await (await Identity.generate()).toJSON();
    const b = await (await Identity.generate()).toJSON();
    await expect(Identity.fromJSON({ ...a, publicKey: b.publicKey })).rejects.toSatisfy((err) =>
      isSwarmError(err, 'IDENTITY_MISMATCH'),
    );
    await expect(Identity.fromJSON({ ...a, peerId: b.peerId })).rejects.toSatisfy((err) =>
      isSwarmError(err, 'IDENTITY_MISMATCH'),
    );
    for (const bad of [
      { ...a, privateKey: 'not base64!' },
      { ...a, privateKey: Buffer.from('not a key').toString('base64') },
      { ...a, publicKey: 'AAAA' },
      { ...a, version: 99 },
      null,
    ]) {
      await expect(Identity.fromJSON(bad as IdentityJSON)).rejects.toSatisfy((err) =>
        isSwarmError(err, 'BAD_CONTENT'),
      );
    }
  });
});

describe('loadOrCreateIdentity', () => {
  const dirs: string[] = [];
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-identity-'));
    dirs.push(dir);
    return dir;
  }
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('creates identity.json with mode 0600 and reloads the same identity', async () => {
    const dir = join(await tempDir(), 'nested', 'data');
    const first = await loadOrCreateIdentity(dir);
    expect(first.created).toBe(true);
    const path = join(dir, 'identity.json');
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['identity.json']); // no temp file left behind

    const second = await loadOrCreateIdentity(dir);
    expect(second.created).toBe(false);
    expect(second.identity.peerId).toBe(first.identity.peerId);
    expect(await verifySignature(first.identity.publicKeyRaw, await second.identity.sign(data), data)).toBe(
      true,
    );
  });

  it('concurrent first starts agree on one identity', async () => {
    const dir = await tempDir();
    const results = await Promise.all([
      loadOrCreateIdentity(dir),
      loadOrCreateIdentity(dir),
      loadOrCreateIdentity(dir),
    ]);
    expect(new Set(results.map((r) => r.identity.peerId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await readdir(dir)).toEqual(['identity.json']);
  });

  it('refuses a corrupt file with a clear error and leaves it untouched', async () => {
    const dir = await tempDir();
    const path = join(dir, 'identity.json');
    for (const corrupt of ['{"version":1,"peerId":"sd-', '{"version":1}', '[]']) {
      await writeFile(path, corrupt);
      await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/identity\.json.*refusing to replace it/s);
      expect(await readFile(path, 'utf8')).toBe(corrupt);
    }
  });

  it.skipIf(process.platform === 'win32')('tightens a readable identity file back to 0600', async () => {
    const dir = await tempDir();
    const { identity } = await loadOrCreateIdentity(dir);
    const path = join(dir, 'identity.json');
    await chmod(path, 0o644);
    expect((await loadOrCreateIdentity(dir)).identity.peerId).toBe(identity.peerId);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
