/** The path a node serves its signalling endpoint on (lib/peer/signalling/messages.ts SIGNAL_PATH). */
import { SIGNAL_PATH } from '../../lib/peer/signalling/messages.ts';

/** Query parameter that overrides the bootstrap for one visit: `/?bootstrap=ws://host:port/signal`. */
export const BOOTSTRAP_QUERY_PARAM = 'bootstrap';

/**
 * Set by `npm run dev` only: under `next dev` the page comes from Next's dev server, not from a node,
 * so the node to join is named at build time. Next inlines NEXT_PUBLIC_* values into the bundle.
 */
const DEV_BOOTSTRAP = process.env.NEXT_PUBLIC_SWARMDROP_BOOTSTRAP;

/** Where the address chosen in settings is remembered: a preference of this browser, not peer state. */
const SAVED_BOOTSTRAP_KEY = 'swarmdrop.bootstrapUrl';

type PageLocation = Pick<Location, 'protocol' | 'host' | 'search'>;

/**
 * Where this tab joins the swarm: `?bootstrap=` when given, then the address chosen in settings,
 * otherwise the node that served the page.
 */
export function resolveBootstrapUrl(location: PageLocation, saved: string | null): string {
  const fromQuery = new URLSearchParams(location.search).get(BOOTSTRAP_QUERY_PARAM)?.trim();
  return fromQuery || saved || servingNodeBootstrap(location);
}

/** The signalling endpoint of the node that served the page (wss under https, or the browser blocks it). */
export function servingNodeBootstrap(location: Omit<PageLocation, 'search'>): string {
  if (DEV_BOOTSTRAP) return DEV_BOOTSTRAP;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${SIGNAL_PATH}`;
}

/** The address saved in settings, null when none (or storage is unavailable, as in some private modes). */
export function readSavedBootstrap(storage: Pick<Storage, 'getItem'>): string | null {
  try {
    return storage.getItem(SAVED_BOOTSTRAP_KEY);
  } catch {
    return null;
  }
}

/** Remembers (or with null forgets) the address chosen in settings; best effort, like any preference. */
export function saveBootstrap(storage: Pick<Storage, 'setItem' | 'removeItem'>, url: string | null): void {
  try {
    if (url === null) storage.removeItem(SAVED_BOOTSTRAP_KEY);
    else storage.setItem(SAVED_BOOTSTRAP_KEY, url);
  } catch {
    // Not remembered across reloads; the address still applies to this visit.
  }
}

/** Plain-words check of a bootstrap URL typed in settings; null when it is usable. */
export function bootstrapUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return 'That is not a web address. It should look like ws://127.0.0.1:8000/signal.';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return "The address must start with ws:// or wss:// (the node's signalling endpoint).";
  }
  return null;
}
