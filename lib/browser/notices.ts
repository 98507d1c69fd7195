/**
 * Problems the user can act on, in plain words, until dismissed. A notice has a key so the same
 * problem (the bootstrap still unreachable, a peer gone again) replaces its earlier notice instead of
 * piling up.
 */
import type { NoticeView } from './view.ts';

/** Oldest notices are dropped past this many: a long-open tab must not grow without bound. */
const MAX_NOTICES = 50;

export class Notices {
  #notices: NoticeView[] = [];
  #next = 1;

  constructor(private readonly onChange: () => void) {}

  list(): NoticeView[] {
    return this.#notices.slice();
  }

  /** Shows `text`; a notice with the same key is replaced. Returns the notice id. */
  show(key: string, level: NoticeView['level'], text: string): string {
    const id = `${key}#${this.#next++}`;
    this.#notices = this.#notices.filter((n) => !n.id.startsWith(`${key}#`));
    this.#notices.push({ id, level, text });
    if (this.#notices.length > MAX_NOTICES) this.#notices.shift();
    this.onChange();
    return id;
  }

  /** Removes the notice with this key (the problem went away). */
  clear(key: string): void {
    const before = this.#notices.length;
    this.#notices = this.#notices.filter((n) => !n.id.startsWith(`${key}#`));
    if (this.#notices.length !== before) this.onChange();
  }

  dismiss(id: string): void {
    const before = this.#notices.length;
    this.#notices = this.#notices.filter((n) => n.id !== id);
    if (this.#notices.length !== before) this.onChange();
  }
}

/** A transfer's failure reason (as the transfer engine words it) in words a person can act on. */
export function plainTransferError(reason: string): string {
  if (/disk full|quota/i.test(reason)) {
    return 'The browser ran out of storage for this site. Remove finished downloads or shared files you no longer need, allow the site more storage, and resume.';
  }
  if (/does not match|HASH_MISMATCH|bad data|banned/i.test(reason)) {
    return `The file failed verification: a peer sent data that does not match the file's hashes. The bad data was thrown away; download it again (other peers will be used). Details: ${reason}`;
  }
  if (/no usable source|no connected peer/i.test(reason)) {
    return 'No connected peer has the rest of this file. Resume it when a peer that has it is online.';
  }
  return reason;
}
