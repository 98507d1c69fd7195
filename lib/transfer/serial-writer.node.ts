/**
 * Positional writes to one open file, **one system call at a time**: writes asked for while one is
 * running wait, and then go out together, each run of them that is contiguous in the file as one
 * `pwritev` (whatever buffers the bytes are in).
 *
 * Why not one write per piece in parallel, as libuv's thread pool would run them: concurrent writes
 * to one file do not go faster (they serialise on the inode's lock and on page-cache allocation in
 * the kernel) but burn CPU doing so. Writing 1 GiB of 1 MiB writes into the page cache of a file on
 * this 2-core VM (ext4, memory returned to the host by the balloon, so each new page faults there
 * first) took the same 2.6-2.8 s wall time with 4 writes in flight as with 1, but **4.4 s of
 * system CPU against 2.6 s** (bench/README.md, 2026-12-03 afternoon). During a download that CPU is
 * taken from the seeder, the TLS layer and the hashing, which share the same cores.
 */
import type { FileHandle } from 'node:fs/promises';

interface QueuedWrite {
  data: Uint8Array;
  position: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SerialWriter {
  readonly #fd: FileHandle;
  #queued: QueuedWrite[] = [];
  #running = false;

  constructor(fd: FileHandle) {
    this.#fd = fd;
  }

  /** Writes all of `data` at `position`; resolves once the bytes are in the file (not yet durable). */
  write(data: Uint8Array, position: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ data, position, resolve, reject });
      if (this.#running) return;
      this.#running = true;
      // The pieces of one received chunk are written in the same tick: let them join one write.
      queueMicrotask(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#queued.length > 0) {
      const queued = this.#queued.sort((a, b) => a.position - b.position);
      this.#queued = [];
      for (let first = 0; first < queued.length;) {
        let last = first;
        while (last + 1 < queued.length && queued[last + 1]!.position === end(queued[last]!)) last++;
        const run = queued.slice(first, last + 1);
        try {
          await writeAll(this.#fd, joinViews(run.map((w) => w.data)), run[0]!.position);
          for (const w of run) w.resolve();
        } catch (err) {
          for (const w of run) w.reject(err);
        }
        first = last + 1;
      }
    }
    this.#running = false;
  }
}

function end(write: QueuedWrite): number {
  return write.position + write.data.length;
}

/** Adjacent views of the same memory as one (the pieces of one received chunk are views of its frame). */
function joinViews(views: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [views[0]!];
  for (const view of views.slice(1)) {
    const last = out[out.length - 1]!;
    if (view.buffer === last.buffer && view.byteOffset === last.byteOffset + last.length) {
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + view.length);
    } else {
      out.push(view);
    }
  }
  return out;
}

/** One `pwritev` of `buffers` at `position`, continued where a short write stopped. */
async function writeAll(fd: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  const total = buffers.reduce((sum, b) => sum + b.length, 0);
  let done = buffers.length === 1 ? 0 : (await fd.writev(buffers, position)).bytesWritten;
  // libuv already loops over short writes; this covers a single buffer and any remainder.
  let skip = done;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    for (let offset = skip; offset < buffer.length;) {
      const { bytesWritten } = await fd.write(buffer, offset, buffer.length - offset, position + done);
      offset += bytesWritten;
      done += bytesWritten;
    }
    skip = 0;
  }
  if (done !== total) throw new Error(`wrote ${done} of ${total} bytes`);
}
