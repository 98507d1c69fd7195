import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { snapshotUsage, usageBetween } from '../../bench/lib/process-usage.ts';
import type { UsageSnapshot } from '../../bench/lib/process-usage.ts';

function sample(process: string, thread: string, cpuS: number, minorFaults: number) {
  return { process, thread, cpuS, minorFaults };
}

describe('bench process usage', () => {
  it('splits a phase by thread, and names what threads that ended did', () => {
    const start: UsageSnapshot = {
      atMs: 0,
      threads: new Map([
        ['1/1', sample('node (bench)', 'node (main)', 1, 100)],
        ['1/2', sample('node (bench)', 'juice poll', 0.5, 10)],
      ]),
      processes: new Map([[1, sample('node (bench)', '(threads that ended)', 1.5, 110)]]),
      udpReceiveBufferDrops: 7,
    };
    // Thread 2 ended after using 0.3 s more; thread 3 started and used 0.2 s.
    const end: UsageSnapshot = {
      atMs: 2000,
      threads: new Map([
        ['1/1', sample('node (bench)', 'node (main)', 1.4, 150)],
        ['1/3', sample('node (bench)', 'RTC worker', 0.2, 5)],
      ]),
      processes: new Map([[1, sample('node (bench)', '(threads that ended)', 2.4, 180)]]),
      udpReceiveBufferDrops: 19,
    };
    const usage = usageBetween(start, end);
    expect(usage.wallS).toBe(2);
    expect(usage.udpReceiveBufferDrops).toBe(12);
    expect(usage.cpuS).toBeCloseTo(0.9);
    const byThread = Object.fromEntries(usage.threads.map((t) => [t.thread, [Number(t.cpuS.toFixed(2)), t.minorFaults]]));
    expect(byThread).toEqual({ 'node (main)': [0.4, 50], '(threads that ended)': [0.3, 15], 'RTC worker': [0.2, 5] });
  });

  it('reads this process and a busy child from /proc', async () => {
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end);']);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const start = snapshotUsage();
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil);
    const end = snapshotUsage();
    await exited;
    const usage = usageBetween(start, end);
    const own = usage.threads.filter((t) => t.process === 'node (bench)').reduce((sum, t) => sum + t.cpuS, 0);
    const childCpu = usage.threads.filter((t) => t.process === `node ${child.pid}`).reduce((sum, t) => sum + t.cpuS, 0);
    expect(own).toBeGreaterThan(0.1);
    expect(usage.threads.filter((t) => t.process === 'node (bench)' && t.thread.endsWith(' (main)'))).toHaveLength(1);
    expect(childCpu).toBeGreaterThan(0);
  });
});
