/**
 * One identity per tab: kept across reloads of that tab, never shared by two tabs of one browser.
 *
 * A tab owns a numbered slot. The slot number lives in sessionStorage (it survives a reload and is
 * private to the tab) and the tab holds an exclusive Web Lock named after it for its whole life. A
 * duplicated tab inherits a copy of sessionStorage, finds its slot's lock held by the original and
 * takes the lowest free slot instead. A closed tab's slot (and its keys, chunks and history) is
 * picked up again by the next tab that needs a free slot.
 */
import { get, set } from 'idb-keyval';
import { openIdbStore } from './idb.browser.ts';
import { Identity } from '../peer/identity.ts';
import type { IdentityJSON } from '../peer/identity.ts';

const SLOT_STORAGE_KEY = 'swarmdrop.tab-slot';
const LOCK_PREFIX = 'swarmdrop-tab-slot-';
/** Identities of every slot, keyed by slot number. */
const IDENTITY_DB = 'swarmdrop-identities';
/**
 * On a reload the old document may still hold its lock for a moment while the new one starts: the
 * tab's own slot is retried this long before it is given up as taken by a duplicate.
 */
export const OWN_SLOT_GRACE_MS = 1_500;
const OWN_SLOT_RETRY_MS = 100;
/** Far more tabs than anyone opens; only bounds the search. */
const MAX_SLOTS = 1_000;

export interface TabSlot {
  slot: number;
  /** Gives the slot up (the lock); the page's end does it too. */
  release(): void;
}

interface LockManagerLike {
  request(name: string, options: { mode: 'exclusive'; ifAvailable: true }, callback: (lock: unknown) => Promise<void>): Promise<void>;
}

/** Holds the lock `name` until release() if it is free now; null when another context holds it. */
async function tryLock(locks: LockManagerLike, name: string): Promise<(() => void) | null> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return new Promise((answer) => {
    locks
      .request(name, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
        if (!lock) return answer(null);
        answer(release);
        await held;
      })
      .catch(() => answer(null));
  });
}

export async function claimTabSlot(): Promise<TabSlot> {
  const locks = (navigator as Navigator & { locks?: LockManagerLike }).locks;
  const stored = Number.parseInt(sessionStorage.getItem(SLOT_STORAGE_KEY) ?? '', 10);
  const own = Number.isSafeInteger(stored) && stored >= 0 ? stored : null;
  if (!locks) {
    // Without Web Locks (an old browser) a duplicated tab cannot be told apart: keep the stored slot.
    const slot = own ?? Math.floor(Math.random() * MAX_SLOTS);
    sessionStorage.setItem(SLOT_STORAGE_KEY, String(slot));
    return { slot, release: () => {} };
  }
  if (own !== null) {
    const deadline = Date.now() + OWN_SLOT_GRACE_MS;
    for (;;) {
      const release = await tryLock(locks, LOCK_PREFIX + own);
      if (release) return { slot: own, release };
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, OWN_SLOT_RETRY_MS));
    }
  }
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (slot === own) continue;
    const release = await tryLock(locks, LOCK_PREFIX + slot);
    if (release) {
      sessionStorage.setItem(SLOT_STORAGE_KEY, String(slot));
      return { slot, release };
    }
  }
  throw new Error(`more than ${MAX_SLOTS} tabs of this app are open`);
}

/** The slot's identity from IndexedDB, created and stored on first use. */
export async function loadOrCreateTabIdentity(slot: number): Promise<{ identity: Identity; created: boolean }> {
  const store = openIdbStore(IDENTITY_DB);
  const saved = await get<IdentityJSON>(slot, store);
  if (saved) return { identity: await Identity.fromJSON(saved), created: false };
  const identity = await Identity.generate();
  await set(slot, await identity.toJSON(), store);
  return { identity, created: true };
}
