import type { DashboardSource, DashboardView, NoticeView } from '../../lib/browser/view.ts';
import { uuid4 } from '../../lib/util/uuid.ts';

/**
 * What the dashboard shows while the browser peer is starting or after it failed to start: a view
 * with no peer in it and the reason as a notice. Its actions do nothing but say why, except
 * `setBootstrap`, which asks for another start (the settings panel is how a person gets out of a
 * bad bootstrap address), so the dashboard renders one kind of source whatever happened.
 */
export interface StandbyOptions {
  bootstrapUrl: string;
  /** null while starting; the start failure otherwise. */
  failure: Error | null;
  restart(bootstrapUrl: string): void;
}

export function standbySource({ bootstrapUrl, failure, restart }: StandbyOptions): DashboardSource {
  const listeners = new Set<() => void>();
  let view: DashboardView = {
    self: {
      peerId: '',
      name: '',
      bootstrapUrl,
      bootstrapState: failure ? 'unreachable' : 'connecting',
      bootstrapError: failure ? startFailureText(failure) : null,
      storagePersisted: null,
      storageUsage: null,
    },
    peers: [],
    messages: [],
    shared: [],
    swarmFiles: [],
    transfers: [],
    notices: failure ? [{ id: uuid4(), level: 'error', text: startFailureText(failure) }] : [],
  };
  const update = (next: Partial<DashboardView>): void => {
    view = { ...view, ...next };
    for (const listener of listeners) listener();
  };
  const notRunning = async (): Promise<never> => {
    const text = failure
      ? 'Your peer is not running in this tab, so that cannot be done. See the error above.'
      : 'Your peer is still starting. Try again in a moment.';
    // Clicking on while nothing runs repeats the same words: show them once.
    if (!view.notices.some((notice) => notice.text === text)) {
      const notice: NoticeView = { id: uuid4(), level: 'warning', text };
      update({ notices: [...view.notices, notice] });
    }
    throw new Error(text);
  };
  return {
    getSnapshot: () => view,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    close: async () => listeners.clear(),
    sendMessage: notRunning,
    connectPeer: notRunning,
    disconnectPeer: notRunning,
    shareFiles: notRunning,
    unshare: notRunning,
    download: notRunning,
    pause: notRunning,
    resume: notRunning,
    cancel: notRunning,
    saveToDisk: notRunning,
    async setBootstrap(url) {
      restart(url);
    },
    dismissNotice(id) {
      update({ notices: view.notices.filter((notice) => notice.id !== id) });
    },
  };
}

/** The start failure in words a person can act on. */
export function startFailureText(error: Error): string {
  return (
    `Your peer could not start in this tab: ${error.message}. ` +
    'Check the bootstrap address in Settings, make sure the node is running, then reload the page.'
  );
}
