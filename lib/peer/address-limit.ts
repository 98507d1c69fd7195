import { MAX_CONNECTIONS_PER_ADDRESS } from './limits.ts';

/**
 * Counts the open connections from each remote address, so a listener can refuse one more from an
 * address that already holds its share (MAX_CONNECTIONS_PER_ADDRESS) before it costs a handshake.
 */
export class AddressLimit {
  readonly max: number;
  readonly #open = new Map<string, number>();

  constructor(max = MAX_CONNECTIONS_PER_ADDRESS) {
    this.max = max;
  }

  /** Takes a slot for `address`, or returns false when it has `max` open already. */
  tryAcquire(address: string): boolean {
    const open = this.#open.get(address) ?? 0;
    if (open >= this.max) return false;
    this.#open.set(address, open + 1);
    return true;
  }

  /** Gives back a slot taken by tryAcquire; call once per successful tryAcquire. */
  release(address: string): void {
    const open = this.#open.get(address) ?? 0;
    if (open <= 1) this.#open.delete(address);
    else this.#open.set(address, open - 1);
  }

  openFrom(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
