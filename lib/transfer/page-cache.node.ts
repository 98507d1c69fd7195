/**
 * Dropping the durable part of a download from the page cache, through the optional native addon in
 * native/page-cache (posix_fadvise POSIX_FADV_DONTNEED, run on libuv's thread pool).
 *
 * Why: a download writes every byte into new page-cache pages. On this project's VM (Firecracker,
 * whose balloon takes free memory back from the guest) each new page first faults in the host, and
 * writing 1 GiB into the page cache of a new file costs about 1.5 core-seconds of system time. Pages
 * the kernel freed moments before come back without that cost. Dropping what a download no longer
 * needs cached lets its next writes reuse those pages: a bare writer went from ~550 MB/s to ~2 GB/s,
 * and the 1 GiB tcp benchmark from ~230 to ~300 MB/s (bench/README.md, seventh session). On any
 * machine it also keeps a large download from pushing everything else out of the cache.
 *
 * Where the addon is not built (no C toolchain at install, or not Linux), the pages simply stay
 * cached, as before: nothing else depends on it.
 */
import { createRequire } from 'node:module';

type DropCache = (fd: number, offset: number, length: number) => Promise<boolean>;

/** Where scripts/build-native.mjs (run by npm install) leaves the addon. */
const ADDON_PATH = '../../native/page-cache/build/Release/page_cache.node';

function loadDropCache(): DropCache | null {
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as { dropCache?: unknown };
    return typeof addon.dropCache === 'function' ? (addon.dropCache as DropCache) : null;
  } catch {
    return null; // not built: no C toolchain at install, or not Linux
  }
}

const dropCache = loadDropCache();

/** True when this process can drop pages (the addon loaded). */
export const canDropCachedPages = dropCache !== null;

/**
 * Asks the kernel to drop the cached pages of bytes [offset, offset + length) of `fd`. Only clean
 * pages go, so make the range durable first. Resolves false where it cannot be done.
 */
export async function dropCachedPages(fd: number, offset: number, length: number): Promise<boolean> {
  // A length of 0 would mean "to the end of the file" to the kernel.
  if (dropCache === null || length <= 0) return false;
  return dropCache(fd, offset, length);
}
