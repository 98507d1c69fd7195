/**
 * JSON files that are never seen half-written: write a temp file beside the target, flush it to
 * disk, then rename over the target (rename within one directory is atomic on POSIX and NTFS).
 * A crash leaves either the old file or the new one, plus at worst a stray `*.tmp`.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';

/** Default for files that hold nothing secret; secrets pass 0o600. */
const DEFAULT_FILE_MODE = 0o644;

export async function writeJsonAtomic(
  path: string,
  value: unknown,
  mode: number = DEFAULT_FILE_MODE,
): Promise<void> {
  const temp = await writeTempFile(path, value, mode);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * Like writeJsonAtomic, but only if `path` does not exist yet: returns false (writing nothing) if
 * it does. For files that must never be replaced by a concurrent writer, such as an identity.
 * A hard link, unlike rename, fails when the target exists, so the check and the write are one step.
 */
export async function writeJsonExclusive(
  path: string,
  value: unknown,
  mode: number = DEFAULT_FILE_MODE,
): Promise<boolean> {
  const temp = await writeTempFile(path, value, mode);
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** The parsed file, or undefined if it does not exist. Throws (with the path) if it is not valid JSON. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

async function writeTempFile(path: string, value: unknown, mode: number): Promise<string> {
  const json = JSON.stringify(value, null, 2);
  if (json === undefined) throw new TypeError(`cannot write ${path}: value is not JSON-serialisable`);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  // 'wx': never follow or reuse something already at the temp path.
  const handle = await open(temp, 'wx', mode);
  try {
    // The mode given to open() is reduced by the umask; set it exactly so 0o600 means 0o600.
    await handle.chmod(mode);
    await handle.writeFile(json + '\n', 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  return temp;
}
