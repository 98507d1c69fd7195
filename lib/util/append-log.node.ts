/**
 * AppendLog kept as a JSON Lines file: one record per line, only ever appended.
 *
 * A crash can leave a half-written last line. Reading skips any line that does not parse (a lost
 * record is better than a node that will not start), and the first append after opening starts a
 * fresh line if the file does not end with one, so a new record is never glued onto the fragment.
 */
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AppendLog } from './record-store.ts';

const NEWLINE = '\n';

export interface JsonlAppendLogOptions {
  /** Told about each line that could not be parsed (1-based line number), e.g. to log a warning. */
  onBadLine?: (lineNumber: number, text: string) => void;
}

export class JsonlAppendLog<R> implements AppendLog<R> {
  readonly path: string;
  readonly #onBadLine: (lineNumber: number, text: string) => void;
  /** Appends run one after another so records land in call order. */
  #tail: Promise<void> = Promise.resolve();
  #checkedEnding = false;

  constructor(path: string, options: JsonlAppendLogOptions = {}) {
    this.path = path;
    this.#onBadLine = options.onBadLine ?? (() => {});
  }

  append(record: R): Promise<void> {
    const line = JSON.stringify(record);
    if (line === undefined) return Promise.reject(new TypeError('record is not JSON-serialisable'));
    const done = this.#tail.then(() => this.#appendLine(line));
    // The chain continues after a failed append; the failure goes to this append's caller.
    this.#tail = done.catch(() => {});
    return done;
  }

  async readAll(): Promise<R[]> {
    await this.#tail; // include appends already requested
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records: R[] = [];
    const lines = text.split(NEWLINE);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as R);
      } catch {
        this.#onBadLine(i + 1, line);
      }
    }
    return records;
  }

  async #appendLine(line: string): Promise<void> {
    let prefix = '';
    if (!this.#checkedEnding) {
      await mkdir(dirname(this.path), { recursive: true });
      if (!(await endsWithNewlineOrEmpty(this.path))) prefix = NEWLINE;
      this.#checkedEnding = true;
    }
    await appendFile(this.path, prefix + line + NEWLINE, 'utf8');
  }
}

async function endsWithNewlineOrEmpty(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = new Uint8Array(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === NEWLINE.charCodeAt(0);
  } finally {
    await handle.close();
  }
}
