/**
 * Runs `task` after the current task and its microtasks, as an I/O event would. `setImmediate`
 * where it exists (Node); in a page, a message to itself over a MessageChannel, which browsers run
 * as a task at once. Not `setTimeout(0)`: browsers clamp it to 4 ms once nested, so a long loop that
 * yields every few milliseconds (checking a large file's Merkle tree in a tab) would spend more time
 * waiting than working.
 */
export const scheduleTask: (task: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? (task) => void globalThis.setImmediate(task)
    : typeof globalThis.MessageChannel === 'function'
      ? messageChannelTasks()
      : (task) => void setTimeout(task, 0);

/** Tasks run one per message that a channel's port posts to its other end, in the order scheduled. */
export function messageChannelTasks(): (task: () => void) => void {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  // Node (tests) would otherwise keep the process alive for the open port; browsers have no unref.
  (channel.port1 as { unref?: () => void }).unref?.();
  return (task) => {
    queue.push(task);
    channel.port2.postMessage(null);
  };
}

/** Resolves in a later task: lets pending I/O (a socket read, a timer) run in the middle of long work. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => scheduleTask(resolve));
}
