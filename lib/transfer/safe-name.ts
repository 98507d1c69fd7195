/**
 * File names from the network are hostile until sanitised: a manifest may say `../../etc/passwd`.
 * These functions turn any string into one plain file name that is safe on Linux, macOS and
 * Windows, and pick a free name on a clash. Isomorphic: the caller supplies `exists`.
 */

/** Byte budget of a name (UTF-8). Most filesystems allow 255; the margin leaves room for " (12)". */
export const MAX_NAME_BYTES = 200;
/** Used when nothing of the original name survives. */
export const FALLBACK_NAME = 'file';
/** An extension longer than this is treated as part of the stem (a dot in a long name is not an extension). */
const MAX_EXTENSION_BYTES = 32;
/** Give up on finding a free "name (n).ext" after this many tries; a directory that full is a bug. */
const MAX_CLASH_ATTEMPTS = 10_000;

/** C0 and C1 control characters (incl. NUL) and the bidi overrides that can disguise an extension. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Characters Windows forbids in names (separators are handled before this). */
const WINDOWS_RESERVED_CHARS = /[<>:"|?*]/g;
/** Device names Windows reserves whatever the extension (CON.txt is still the console). */
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;
const DRIVE_PREFIX = /^[a-zA-Z]:/;
const encoder = new TextEncoder();

/**
 * One safe file name: the last path segment only (no `..`, `/`, `\`, absolute paths or drive
 * letters), no control characters, no leading dots (a received file must not hide itself),
 * trimmed, at most MAX_NAME_BYTES of UTF-8 with the extension kept, never empty.
 */
export function sanitizeFileName(name: string): string {
  let base = String(name).normalize('NFC').replace(UNSAFE_CHARS, '');
  base = base.replace(DRIVE_PREFIX, '');
  base =
    base
      .split(/[/\\]/)
      .filter((segment) => segment.trim() !== '')
      .pop() ?? '';
  base = base.replace(WINDOWS_RESERVED_CHARS, '_');
  base = trimName(base);
  if (WINDOWS_DEVICE_NAME.test(base)) base = `_${base}`;
  base = fitBytes(base, MAX_NAME_BYTES);
  return base === '' ? FALLBACK_NAME : base;
}

/**
 * A sanitised name that does not exist yet in `dir`: `name.ext`, else `name (1).ext`,
 * `name (2).ext`, ... `exists` is asked with the candidate's path (`dir` + '/' + candidate);
 * the candidate name (not the path) is returned. The check is advisory: a caller that must not
 * overwrite creates the file with an exclusive operation and retries on a clash.
 */
export async function uniqueSafeName(
  dir: string,
  name: string,
  exists: (path: string) => boolean | Promise<boolean>,
): Promise<string> {
  const safe = sanitizeFileName(name);
  const { stem, extension } = splitExtension(safe);
  const prefix = dir.replace(/[/\\]+$/, '');
  for (let attempt = 0; attempt < MAX_CLASH_ATTEMPTS; attempt++) {
    const candidate = attempt === 0 ? safe : withSuffix(stem, ` (${attempt})`, extension);
    if (!(await exists(`${prefix}/${candidate}`))) return candidate;
  }
  throw new RangeError(`no free name for "${safe}" after ${MAX_CLASH_ATTEMPTS} attempts`);
}

/** Splits "report.pdf" into "report" + ".pdf", and "backup.tar.gz" into "backup" + ".tar.gz". */
export function splitExtension(name: string): { stem: string; extension: string } {
  const match = /^(.+?)((?:\.tar)?\.[^.\s]+)$/i.exec(name);
  if (match === null || utf8Length(match[2]!) > MAX_EXTENSION_BYTES) return { stem: name, extension: '' };
  return { stem: match[1]!, extension: match[2]! };
}

/** Stem + suffix + extension within MAX_NAME_BYTES, shortening the stem if needed. */
function withSuffix(stem: string, suffix: string, extension: string): string {
  const budget = MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(extension);
  return `${trimName(truncateBytes(stem, budget)) || FALLBACK_NAME}${suffix}${extension}`;
}

/** Shortens to `maxBytes` of UTF-8, cutting the stem and keeping the extension when there is one. */
function fitBytes(name: string, maxBytes: number): string {
  if (utf8Length(name) <= maxBytes) return name;
  const { stem, extension } = splitExtension(name);
  const kept = trimName(truncateBytes(stem, maxBytes - utf8Length(extension)));
  return kept === '' ? trimName(truncateBytes(name, maxBytes)) : kept + extension;
}

/** The longest prefix of whole code points that fits in `maxBytes` of UTF-8. */
function truncateBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const codePoint of text) {
    bytes += utf8Length(codePoint);
    if (bytes > maxBytes) break;
    end += codePoint.length;
  }
  return text.slice(0, end);
}

/** Drops surrounding whitespace, leading dots (hidden files, `..`) and trailing dots (Windows drops them). */
function trimName(name: string): string {
  return name
    .trim()
    .replace(/^\.+/, '')
    .replace(/[.\s]+$/, '')
    .trim();
}

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
