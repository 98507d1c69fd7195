import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Random test content and helpers around a node's shared_files/ directory. */
export function randomFile(bytes: number): { data: Buffer; fileId: string } {
  const data = randomBytes(bytes);
  return { data, fileId: sha256Hex(data) };
}

/** SHA-256 as lowercase hex: a file's id, and how tests compare contents. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function putShared(dir: string, name: string, data: Buffer): Promise<void> {
  await mkdir(join(dir, 'shared_files'), { recursive: true });
  await writeFile(join(dir, 'shared_files', name), data);
}

export async function sharedNames(dir: string): Promise<string[]> {
  return readdir(join(dir, 'shared_files')).catch(() => []);
}

export async function readShared(dir: string, name: string): Promise<Buffer> {
  return readFile(join(dir, 'shared_files', name));
}
