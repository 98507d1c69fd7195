import { describe, expect, it } from 'vitest';
import { messageChannelTasks } from '../../lib/util/next-task.ts';

describe('messageChannelTasks (how a page schedules a task)', () => {
  it('runs tasks in the order scheduled, each after the microtasks of the task that scheduled it', async () => {
    const schedule = messageChannelTasks();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      schedule(() => seen.push('first'));
      schedule(() => {
        seen.push('second');
        // Scheduled from inside a task: runs in a later task again, not nested in this one.
        schedule(() => {
          seen.push('fourth');
          resolve();
        });
        void Promise.resolve().then(() => seen.push('third (a microtask of the second)'));
      });
      void Promise.resolve().then(() => seen.push('microtask'));
    });
    seen.push('synchronous');
    await done;
    expect(seen).toEqual([
      'synchronous',
      'microtask',
      'first',
      'second',
      'third (a microtask of the second)',
      'fourth',
    ]);
  });
});
