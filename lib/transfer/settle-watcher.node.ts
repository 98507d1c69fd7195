/**
 * Watches one directory (not its sub-directories) and reports a name once it has held still: its
 * lstat (kind, size, mtime, inode) is the same twice, `settleMs` apart. A file being copied in changes
 * far more often than that, so it is reported once, when the copy ends; a deleted name is reported too
 * (the callback finds it missing).
 *
 * fs.watch only says "something happened to this name"; the polling here is what decides. Events
 * without a name (some platforms, an overflowed queue) trigger a look at the whole directory.
 */
import { watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface SettleWatcherOptions {
  dir: string;
  settleMs: number;
  /** Called once per settled name; the next change of that name starts a new poll. */
  onSettled: (name: string) => Promise<void>;
  /** Names never polled (hidden files, say). */
  ignore?: (name: string) => boolean;
  /** Names to re-check on a full rescan besides those listed (e.g. names known to be deleted since). */
  knownNames?: () => Iterable<string>;
  onError: (err: unknown, name?: string) => void;
}

export class SettleWatcher {
  readonly #options: SettleWatcherOptions;
  readonly #polls = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  #watcher: FSWatcher | undefined;
  #rescanTimer: ReturnType<typeof setTimeout> | undefined;
  #state: 'idle' | 'watching' | 'closed' = 'idle';

  constructor(options: SettleWatcherOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'watching';
    // Not persistent: watching alone must not keep the process alive.
    this.#watcher = watch(this.#options.dir, { persistent: false }, (_event, name) => this.#onEvent(name));
    this.#watcher.on('error', (err) => this.#options.onError(err));
  }

  /** Polls `name` until it settles (no-op if a poll of it is already running). */
  poll(name: string): void {
    if (this.#state !== 'watching' || this.#polls.has(name) || this.#options.ignore?.(name)) return;
    this.#polls.set(name, undefined);
    let last: string | undefined;
    const check = async (): Promise<void> => {
      const seen = statKey(await lstat(join(this.#options.dir, name)).catch(missingAsUndefined));
      if (!this.#isWatching()) return;
      if (seen !== last) {
        last = seen;
        this.#polls.set(name, setTimeout(() => void run(), this.#options.settleMs));
        return;
      }
      this.#polls.delete(name);
      await this.#options.onSettled(name);
    };
    const run = () =>
      check().catch((err: unknown) => {
        this.#polls.delete(name);
        this.#options.onError(err, name);
      });
    void run();
  }

  close(): void {
    this.#state = 'closed';
    this.#watcher?.close();
    clearTimeout(this.#rescanTimer);
    for (const timer of this.#polls.values()) clearTimeout(timer);
    this.#polls.clear();
  }

  #onEvent(name: string | null): void {
    if (this.#state !== 'watching') return;
    if (typeof name !== 'string' || name === '') return this.#scheduleRescan();
    if (!name.includes('/') && !name.includes('\\')) this.poll(name);
  }

  #scheduleRescan(): void {
    if (this.#rescanTimer !== undefined) return;
    this.#rescanTimer = setTimeout(() => {
      this.#rescanTimer = undefined;
      readdir(this.#options.dir).then(
        (names) => new Set([...names, ...(this.#options.knownNames?.() ?? [])]).forEach((n) => this.poll(n)),
        (err: unknown) => this.#options.onError(err),
      );
    }, this.#options.settleMs);
  }

  /** A method, so TypeScript does not carry a narrowing of #state across an await. */
  #isWatching(): boolean {
    return this.#state === 'watching';
  }
}

/** What "has it changed?" compares: kind, size, mtime and inode ("missing" when gone). */
function statKey(stats: Stats | undefined): string {
  if (stats === undefined) return 'missing';
  return `${stats.isFile() ? 'file' : 'other'}:${stats.size}:${stats.mtimeMs}:${stats.ino}`;
}

function missingAsUndefined(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined;
  throw err;
}
