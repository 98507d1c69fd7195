/**
 * Runs `task` after the current task and its microtasks, as an I/O event would. `setImmediate`
 * where it exists (Node), because `setTimeout(0)` is clamped to >= 1 ms (4 ms once nested in
 * browsers) and would make long loops that yield slow.
 */
export const scheduleTask: (task: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? (task) => void globalThis.setImmediate(task)
    : (task) => void setTimeout(task, 0);

/** Resolves in a later task: lets pending I/O (a socket read, a timer) run in the middle of long work. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => scheduleTask(resolve));
}
