/**
 * Keeps the node's identity in `<dataDir>/identity.json` (mode 0600: it holds the private key).
 * Created once, atomically; afterwards only ever read. A file that exists but cannot be read as an
 * identity is an error, never a reason to mint a new one: replacing it would silently change the
 * node's peer id and orphan everything other peers know about it.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeJsonExclusive } from '../util/json-file.node.ts';
import { Identity, type IdentityJSON } from './identity.ts';

export const IDENTITY_FILE_NAME = 'identity.json';
/** Owner read/write only: the file holds the private key. */
const IDENTITY_FILE_MODE = 0o600;
/** Permission bits that let anyone but the owner read or write. */
const GROUP_OTHER_BITS = 0o077;

export async function loadOrCreateIdentity(
  dataDir: string,
): Promise<{ identity: Identity; created: boolean }> {
  const path = join(dataDir, IDENTITY_FILE_NAME);
  const existing = await loadIdentityFile(path);
  if (existing) return { identity: existing, created: false };

  await mkdir(dataDir, { recursive: true });
  const identity = await Identity.generate();
  if (await writeJsonExclusive(path, await identity.toJSON(), IDENTITY_FILE_MODE)) {
    return { identity, created: true };
  }
  // Another process created it between our read and our write: theirs wins, ours was never used.
  const raced = await loadIdentityFile(path);
  if (!raced) throw new Error(`${path} appeared and vanished while creating an identity`);
  return { identity: raced, created: false };
}

async function loadIdentityFile(path: string): Promise<Identity | undefined> {
  let json: IdentityJSON | undefined;
  try {
    json = await readJsonFile<IdentityJSON>(path);
    if (json === undefined) return undefined;
    const identity = await Identity.fromJSON(json);
    await tightenMode(path);
    return identity;
  } catch (err) {
    throw new Error(
      `identity file ${path} exists but could not be loaded as an identity (${(err as Error).message}); ` +
        'refusing to replace it. Restore it from a backup, or move it away to create a new identity (a new peer id).',
      { cause: err },
    );
  }
}

/** An identity file copied in with loose permissions is put back to 0600 rather than left readable. */
async function tightenMode(path: string): Promise<void> {
  if (process.platform === 'win32') return; // POSIX modes do not apply.
  const { mode } = await stat(path);
  if ((mode & GROUP_OTHER_BITS) !== 0) await chmod(path, IDENTITY_FILE_MODE);
}
