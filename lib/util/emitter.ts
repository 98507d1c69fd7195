/**
 * A small typed event emitter that works the same in Node and in browsers, so `lib/` does not
 * depend on `node:events`. A listener that throws is reported to `onListenerError` instead of
 * breaking the emitter's caller (one bad handler must not take down a connection).
 */
export type EventMap = Record<string, (...args: never[]) => void>;

export class Emitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const wrapped = ((...args: Parameters<E[K]>) => {
      this.off(event, wrapped);
      (listener as (...a: Parameters<E[K]>) => void)(...args);
    }) as E[K];
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
  }

  protected onListenerError(err: unknown, event: string): void {
    queueMicrotask(() => {
      throw new Error(`listener for "${event}" threw: ${(err as Error)?.stack ?? err}`);
    });
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
