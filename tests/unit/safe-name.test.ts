import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FALLBACK_NAME,
  MAX_NAME_BYTES,
  sanitizeFileName,
  splitExtension,
  uniqueSafeName,
} from '../../lib/transfer/safe-name.ts';

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

describe('sanitizeFileName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['/abs/name', 'name'],
    ['a\u0000b', 'ab'],
    ['..', FALLBACK_NAME],
    ['.', FALLBACK_NAME],
    ['', FALLBACK_NAME],
    ['   ', FALLBACK_NAME],
    ['C:\\x', 'x'],
    ['C:x.txt', 'x.txt'],
    ['..\\..\\windows\\system32\\evil.dll', 'evil.dll'],
    ['dir/', 'dir'],
    ['a/..', FALLBACK_NAME],
    ['.bashrc', 'bashrc'],
    ['...hidden.txt', 'hidden.txt'],
    ['  report.pdf  ', 'report.pdf'],
    ['trailing dot.', 'trailing dot'],
    ['what?<>:"|*.txt', 'what_______.txt'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['line\nbreak\ttab.txt', 'linebreaktab.txt'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['résumé 日本語 😀.pdf', 'résumé 日本語 😀.pdf'],
    ['e\u0301t\u00e9.txt', '\u00e9t\u00e9.txt'], // NFD in, NFC out
  ])('%j -> %j', (input, expected) => {
    expect(sanitizeFileName(input)).toBe(expected);
  });

  it('limits to 200 bytes of UTF-8 and keeps the extension', () => {
    const long = sanitizeFileName(`${'x'.repeat(300)}.tar.gz`);
    expect(utf8Bytes(long)).toBe(MAX_NAME_BYTES);
    expect(long.endsWith('x.tar.gz')).toBe(true);
    const emoji = sanitizeFileName(`${'😀'.repeat(100)}.png`); // 4 bytes each: must not cut one in half
    expect(utf8Bytes(emoji)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(emoji.endsWith('😀.png')).toBe(true);
    expect(new TextDecoder().decode(new TextEncoder().encode(emoji))).toBe(emoji); // no lone surrogate
    expect(utf8Bytes(sanitizeFileName('y'.repeat(300)))).toBe(MAX_NAME_BYTES);
  });

  it('always yields one safe, short, non-empty, stable name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (input) => {
        const name = sanitizeFileName(input);
        expect(name.length).toBeGreaterThan(0);
        expect(name).not.toMatch(/[/\\\u0000-\u001f\u007f]/);
        expect(name.startsWith('.')).toBe(false);
        expect(name).not.toBe('..');
        expect(name.trim()).toBe(name);
        expect(utf8Bytes(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
        expect(sanitizeFileName(name)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });
});

describe('splitExtension', () => {
  it('finds simple and .tar.* extensions, not absurd ones', () => {
    expect(splitExtension('report.pdf')).toEqual({ stem: 'report', extension: '.pdf' });
    expect(splitExtension('backup.tar.gz')).toEqual({ stem: 'backup', extension: '.tar.gz' });
    expect(splitExtension('README')).toEqual({ stem: 'README', extension: '' });
    expect(splitExtension(`a.${'b'.repeat(40)}`).extension).toBe('');
  });
});

describe('uniqueSafeName', () => {
  it('returns the sanitised name when free, else "name (n).ext"', async () => {
    const taken = new Set(['/d/report.pdf', '/d/report (1).pdf', '/d/notes']);
    const exists = (path: string) => taken.has(path);
    expect(await uniqueSafeName('/d', 'fresh.txt', exists)).toBe('fresh.txt');
    expect(await uniqueSafeName('/d/', '../report.pdf', exists)).toBe('report (2).pdf');
    expect(await uniqueSafeName('/d', 'notes', async (p) => exists(p))).toBe('notes (1)');
  });

  it('keeps a suffixed long name within the byte limit', async () => {
    const long = `${'z'.repeat(250)}.bin`;
    const first = sanitizeFileName(long);
    const second = await uniqueSafeName('/d', long, (path) => path === `/d/${first}`);
    expect(second).toMatch(/ \(1\)\.bin$/);
    expect(utf8Bytes(second)).toBeLessThanOrEqual(MAX_NAME_BYTES);
  });
});
