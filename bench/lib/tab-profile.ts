/**
 * CPU profiles of a Chromium tab through its CDP session: the page's main thread, and its dedicated
 * workers (the hashing worker), which the page's session reaches through Target auto-attach
 * (non-flattened: messages to a worker go through Target.sendMessageToTarget). Written as
 * .cpuprofile files for cpu-profile.ts to summarise.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CDPSession } from 'playwright-core';

interface AttachedEvent {
  sessionId: string;
  targetInfo: { type: string; title: string; url: string };
}

interface WorkerSession {
  name: string;
  send(method: string, params?: object): Promise<Record<string, unknown>>;
}

/** Wraps one auto-attached target: requests and their replies as JSON strings through the page's session. */
function workerSession(cdp: CDPSession, event: AttachedEvent, nextId: () => number): WorkerSession {
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  cdp.on('Target.receivedMessageFromTarget', (m: { sessionId: string; message: string }) => {
    if (m.sessionId !== event.sessionId) return;
    const reply = JSON.parse(m.message) as { id?: number; result?: Record<string, unknown>; error?: unknown };
    if (reply.id !== undefined) waiting.get(reply.id)?.(reply.result ?? { error: reply.error });
  });
  return {
    name: event.targetInfo.title || event.targetInfo.url.split('/').pop() || 'worker',
    send(method, params = {}) {
      const id = nextId();
      const reply = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve));
      void cdp.send('Target.sendMessageToTarget', { sessionId: event.sessionId, message: JSON.stringify({ id, method, params }) });
      return reply;
    },
  };
}

/** Starts profiling the tab's main thread and its workers; stop() writes one .cpuprofile per thread into `dir`. */
export async function profileTab(cdp: CDPSession, dir: string): Promise<{ stop(): Promise<string[]> }> {
  let id = 1_000_000;
  const workers: WorkerSession[] = [];
  const attached: Promise<void>[] = [];
  cdp.on('Target.attachedToTarget', (event: AttachedEvent) => {
    if (event.targetInfo.type !== 'worker') return;
    const worker = workerSession(cdp, event, () => id++);
    attached.push(
      (async () => {
        await worker.send('Profiler.enable');
        await worker.send('Profiler.start');
        workers.push(worker);
      })(),
    );
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  // Give already running workers a moment to be reported and started.
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all(attached);
  return {
    async stop() {
      await mkdir(dir, { recursive: true });
      const paths: string[] = [];
      const { profile } = await cdp.send('Profiler.stop');
      paths.push(join(dir, 'tab-main.cpuprofile'));
      await writeFile(paths[0]!, JSON.stringify(profile));
      for (const [i, worker] of workers.entries()) {
        const reply = await worker.send('Profiler.stop');
        const path = join(dir, `tab-worker-${i}-${worker.name.replace(/[^\w.-]/g, '_')}.cpuprofile`);
        await writeFile(path, JSON.stringify(reply.profile));
        paths.push(path);
      }
      return paths;
    },
  };
}
