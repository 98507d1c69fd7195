import { startBrowserPeer } from '../../lib/browser/start.browser.ts';
import type { DashboardSource } from '../../lib/browser/view.ts';
import type { SaveMethod } from '../../lib/browser/save.browser.ts';
import { standbySource } from './standby-source.ts';

/** Query parameter choosing how finished files are saved for one visit: `?save=link` or `?save=picker`. */
export const SAVE_QUERY_PARAM = 'save';

/**
 * `?save=link` saves through a download link even where a file picker exists: a picker is a dialog
 * that automation (the e2e tests) cannot answer, and some people prefer the browser's downloads list.
 */
export function saveMethodFromQuery(search: string): SaveMethod | undefined {
  const value = new URLSearchParams(search).get(SAVE_QUERY_PARAM);
  return value === 'link' || value === 'picker' ? value : undefined;
}

/**
 * The one browser peer of this tab, outside React: started once per page load (React may mount the
 * dashboard twice in development, a second peer in the same tab would be a bug), replaced when the
 * person sets another bootstrap address while no peer runs. React reads it with useSyncExternalStore.
 */
export type SessionPhase = 'starting' | 'ready' | 'failed';

export interface Session {
  phase: SessionPhase;
  source: DashboardSource;
}

const listeners = new Set<() => void>();
let session: Session | null = null;
let started = false;

function setSession(next: Session): void {
  session = next;
  for (const listener of listeners) listener();
}

function start(bootstrapUrl: string): void {
  setSession({ phase: 'starting', source: standbySource({ bootstrapUrl, failure: null, restart: start }) });
  const saveMethod = saveMethodFromQuery(globalThis.location?.search ?? '');
  startBrowserPeer({ bootstrapUrl, ...(saveMethod && { saveMethod }) }).then(
    (source) => {
      // A tab has one peer: a start asked for while the first was still under way (a bootstrap chosen
      // in settings meanwhile) gets that same peer, which must then move to the address asked for.
      if (source.getSnapshot().self.bootstrapUrl !== bootstrapUrl) void source.setBootstrap(bootstrapUrl).catch(() => {});
      setSession({ phase: 'ready', source });
    },
    (err: unknown) => {
      const failure = err instanceof Error ? err : new Error(String(err));
      setSession({ phase: 'failed', source: standbySource({ bootstrapUrl, failure, restart: start }) });
    },
  );
}

/** Starts the tab's peer the first time it is called; later calls do nothing. */
export function ensureSessionStarted(bootstrapUrl: string): void {
  if (started) return;
  started = true;
  start(bootstrapUrl);
}

export function subscribeSession(onChange: () => void): () => void {
  listeners.add(onChange);
  return () => listeners.delete(onChange);
}

/** null before ensureSessionStarted (and always while the page is pre-rendered at build time). */
export function getSession(): Session | null {
  return session;
}

export function getServerSession(): Session | null {
  return null;
}
