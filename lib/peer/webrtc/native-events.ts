/**
 * Listening to RTCPeerConnection and RTCDataChannel events without letting an exception escape into
 * native event dispatch, which with node-datachannel once killed the process.
 */

/** Wraps an event handler so that nothing throws back into native event dispatch. */
export function guarded<A extends unknown[]>(fn: (...args: A) => void, onError: (err: unknown) => void) {
  return (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      try {
        onError(err);
      } catch {
        // The error handler failed too; there is nobody left to tell.
      }
    }
  };
}

/** Adds a listener and returns its removal. */
export function listen(target: EventTarget, type: string, listener: (e: Event) => void): () => void {
  target.addEventListener(type, listener);
  return () => target.removeEventListener(type, listener);
}

/** The text of whatever a native call threw, for an error message of our own. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
