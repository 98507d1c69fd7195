import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';

/**
 * iptables rules for tests that must take a path away (the TURN test drops direct traffic between two
 * peers so that the relay is the only way through). Only ever inside the loopback-only network
 * namespace that scripts/loopback-netns.sh makes (SWARMDROP_IN_NETNS=1): there the rules die with the
 * namespace; outside it they would change the host's firewall, which a test must never do.
 */
export const IN_NETNS = process.env.SWARMDROP_IN_NETNS === '1';

export interface BlockedPath {
  /** Removes the rules (idempotent). */
  remove(): void;
}

function iptables(args: string[]): void {
  execFileSync('iptables', ['-w', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Drops every packet between addresses `a` and `b`, both ways. */
export function blockBetween(a: string, b: string): BlockedPath {
  if (!IN_NETNS) throw new Error('refusing to change iptables outside the loopback-only network namespace (scripts/loopback-netns.sh)');
  const rules = [
    ['OUTPUT', '-s', a, '-d', b, '-j', 'DROP'],
    ['OUTPUT', '-s', b, '-d', a, '-j', 'DROP'],
  ];
  const added: string[][] = [];
  try {
    for (const rule of rules) {
      iptables(['-I', ...rule]);
      added.push(rule);
    }
  } catch (err) {
    for (const rule of added) iptables(['-D', ...rule]);
    throw err;
  }
  return {
    remove() {
      for (const rule of added.splice(0)) iptables(['-D', ...rule]);
    },
  };
}

/** Whether one UDP datagram from `from` reaches a socket on `to` within `waitMs`. */
export async function udpReaches(from: string, to: string, waitMs = 300): Promise<boolean> {
  const receiver = createSocket('udp4');
  const sender = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => receiver.bind(0, to, resolve));
    await new Promise<void>((resolve) => sender.bind(0, from, resolve));
    const arrived = new Promise<boolean>((resolve) => {
      receiver.once('message', () => resolve(true));
      setTimeout(() => resolve(false), waitMs);
    });
    sender.send('probe', receiver.address().port, to);
    return await arrived;
  } finally {
    sender.close();
    receiver.close();
  }
}
