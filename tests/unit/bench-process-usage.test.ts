import { describe, expect, it } from 'vitest';
import {
  labelFromCmdline,
  parseStat,
  snapshotUsage,
  usageBetween,
  usageOf,
} from '../../bench/lib/process-usage.ts';
import type { UsageSnapshot } from '../../bench/lib/process-usage.ts';

function sample(process: string, thread: string, cpuS: number, minorFaults: number) {
  return { process, thread, cpuS, minorFaults };
}

function snapshot(
  atMs: number,
  threads: [string, ReturnType<typeof sample>][],
  processes: [number, ReturnType<typeof sample>][],
  drops = 0,
): UsageSnapshot {
  return { atMs, threads: new Map(threads), processes: new Map(processes), udpReceiveBufferDrops: drops };
}

const ENDED = '(threads that ended)';

describe('bench process usage', () => {
  it('reads a stat line by its proc(5) fields, a command with spaces and parentheses included', () => {
    // Fields 3.. of a stat line, each a distinct number after "state", so a wrong index shows.
    const fields = ['S', ...Array.from({ length: 49 }, (_, i) => String(1000 + i + 4))].join(' ');
    const line = `1234 (Web Content (x)) ${fields}`;
    expect(parseStat(line).comm).toBe('Web Content (x)');
    expect(parseStat(line).fields[1]).toBe('1004'); // ppid, field 4
    // minflt is field 10; utime and stime fields 14 and 15, in ticks of 1/100 s.
    expect(usageOf(line, 'p')).toEqual({
      process: 'p',
      thread: 'Web Content (x)',
      minorFaults: 1010,
      cpuS: (1014 + 1015) / 100,
    });
  });

  it('labels Chromium processes by type and service, from command lines Chromium rewrote with spaces', () => {
    const chromium = '/usr/lib/chromium/chromium';
    expect(labelFromCmdline(`${chromium} --type=renderer --lang=en-US`, 7)).toBe('chromium renderer');
    expect(
      labelFromCmdline(
        `${chromium} --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US`,
        7,
      ),
    ).toBe('chromium network');
    expect(labelFromCmdline(`${chromium}\0--headless\0--no-sandbox\0`, 7)).toBe('chromium browser');
    expect(labelFromCmdline('/usr/lib/chromium/chrome_crashpad_handler\0--database=/tmp\0', 7)).toBe(
      'chrome_crashpad_handler 7',
    );
    expect(labelFromCmdline('/usr/bin/node\0bin/swarmdrop.mjs\0', 42)).toBe('node 42');
  });

  it('splits a phase by thread, and names what threads that ended did', () => {
    const start = snapshot(
      0,
      [
        ['1/1', sample('node (bench)', 'node (main)', 1, 100)],
        ['1/2', sample('node (bench)', 'juice poll', 0.5, 10)],
      ],
      [[1, sample('node (bench)', ENDED, 1.5, 110)]],
      7,
    );
    // Thread 2 ended after using 0.3 s more; thread 3 started and used 0.2 s.
    const end = snapshot(
      2000,
      [
        ['1/1', sample('node (bench)', 'node (main)', 1.4, 150)],
        ['1/3', sample('node (bench)', 'RTC worker', 0.2, 5)],
      ],
      [[1, sample('node (bench)', ENDED, 2.4, 180)]],
      19,
    );
    const usage = usageBetween(start, end);
    expect(usage.wallS).toBe(2);
    expect(usage.udpReceiveBufferDrops).toBe(12);
    expect(usage.cpuS).toBeCloseTo(0.9);
    const byThread = Object.fromEntries(
      usage.threads.map((t) => [t.thread, [Number(t.cpuS.toFixed(2)), t.minorFaults]]),
    );
    expect(byThread).toEqual({ 'node (main)': [0.4, 50], [ENDED]: [0.3, 15], 'RTC worker': [0.2, 5] });
  });

  it('sums threads of one name across processes of one label, and drops an ended-threads row that is only tick rounding', () => {
    const renderer = 'chromium renderer';
    const start = snapshot(
      0,
      [
        ['5/5', sample(renderer, 'chromium (main)', 1, 0)],
        ['6/6', sample(renderer, 'chromium (main)', 2, 0)],
      ],
      [
        [5, sample(renderer, ENDED, 1, 0)],
        [6, sample(renderer, ENDED, 2, 0)],
      ],
    );
    // Each process's total is 0.02 s above its one thread: truncation, not an ended thread.
    const end = snapshot(
      1000,
      [
        ['5/5', sample(renderer, 'chromium (main)', 1.5, 0)],
        ['6/6', sample(renderer, 'chromium (main)', 2.25, 0)],
      ],
      [
        [5, sample(renderer, ENDED, 1.52, 0)],
        [6, sample(renderer, ENDED, 2.27, 0)],
      ],
    );
    const usage = usageBetween(start, end);
    expect(usage.threads.map((t) => [t.thread, Number(t.cpuS.toFixed(2))])).toEqual([
      ['chromium (main)', 0.75],
    ]);
    expect(usage.cpuS).toBeCloseTo(0.79);
  });

  it.skipIf(process.platform !== 'linux')('reads this process and a busy child from /proc', async () => {
    const { spawn } = await import('node:child_process');
    // Busy for 300 ms of CPU, then idle until killed, so it is still there for the second snapshot.
    const child = spawn(process.execPath, [
      '-e',
      'const t = process.cpuUsage(); while (process.cpuUsage(t).user < 300_000); setTimeout(() => {}, 60_000);',
    ]);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await new Promise((resolve) => child.on('spawn', resolve));
    const start = snapshotUsage();
    // Busy for 300 ms of CPU, however long the shared machine takes to give it.
    const since = process.cpuUsage();
    while (process.cpuUsage(since).user < 300_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const end = snapshotUsage();
    const usage = usageBetween(start, end);
    child.kill();
    await exited;
    const own = usage.threads.filter((t) => t.process === 'node (bench)');
    expect(own.reduce((sum, t) => sum + t.cpuS, 0)).toBeGreaterThan(0.25);
    expect(own.filter((t) => t.thread.endsWith(' (main)'))).toHaveLength(1);
    expect(usage.threads.some((t) => t.process === `node ${child.pid}` && t.cpuS > 0)).toBe(true);
  });
});
