/**
 * Page script of tests/integration/browser-piece-layouts.test.ts: writes the pieces of one file in
 * each layout a chunk database has held (whole pieces, 32 KiB parts, run records; see
 * lib/browser/idb-pieces.browser.ts) straight into IndexedDB, then reads them back through
 * readPieces and deletes them through deleteFilePieces. Returns what went wrong, in words.
 */
import { createStore, promisifyRequest, setMany } from 'idb-keyval';
import { deleteFilePieces, putRun, readPieces } from '../../lib/browser/idb-pieces.browser.ts';

const PIECE = 64 * 1024;
const FILE_ID = 'a'.repeat(64);
/** Pieces 0-9 whole, 10-19 in two parts, 20-59 in runs of up to 16, 60 (short, the last) in a run. */
const LAST = 60;
const LAST_BYTES = 1000;

function piece(index: number): Uint8Array {
  const bytes = new Uint8Array(index === LAST ? LAST_BYTES : PIECE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (index * 31 + i) & 255;
  return bytes;
}

async function checkLayouts(): Promise<string[]> {
  const store = createStore('piece-layouts', 'kv');
  const older: [IDBValidKey, Uint8Array][] = [];
  for (let i = 0; i < 10; i++) older.push([[FILE_ID, i], piece(i)]);
  for (let i = 10; i < 20; i++) older.push([[FILE_ID, i, 0], piece(i).slice(0, PIECE / 2)], [[FILE_ID, i, 1], piece(i).slice(PIECE / 2)]);
  await setMany(older, store);
  await store('readwrite', (s) => {
    for (let first = 20; first < LAST; first += 16) {
      putRun(s, FILE_ID, first, Array.from({ length: Math.min(16, LAST - first) }, (_, k) => piece(first + k)));
    }
    putRun(s, FILE_ID, LAST, [piece(LAST)]);
    return promisifyRequest(s.transaction);
  });
  const problems: string[] = [];
  for (const [first, count] of [[0, LAST + 1], [5, 20], [25, 3], [35, 26], [LAST, 1], [19, 2]] as const) {
    const got = await readPieces(store, FILE_ID, first, count, PIECE);
    if (got.length !== count) problems.push(`read ${first}+${count}: ${got.length} pieces`);
    // A loop, not forEach: a hole in what readPieces returns must count as a difference.
    for (let k = 0; k < count; k++) {
      const bytes = got[k];
      const want = piece(first + k);
      if (!bytes || bytes.length !== want.length || !bytes.every((v, j) => v === want[j])) problems.push(`read ${first}+${count}: piece ${first + k} differs`);
    }
  }
  const missing = await readPieces(store, FILE_ID, LAST + 1, 1, PIECE).then(() => 'read', (err: Error) => err.message);
  if (!missing.includes('not stored')) problems.push(`a missing piece: ${missing}`);
  await deleteFilePieces(store, FILE_ID);
  const left = await store('readonly', (s) => promisifyRequest(s.getAllKeys()));
  if (left.length > 0) problems.push(`left after delete: ${JSON.stringify(left)}`);
  return problems;
}

(window as unknown as { checkLayouts: typeof checkLayouts }).checkLayouts = checkLayouts;
