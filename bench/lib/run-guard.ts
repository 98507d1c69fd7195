/**
 * Keeps a benchmark run bounded and tidy: one temp dir under os.tmpdir(), clean-up steps that run
 * once whatever ends the run (success, an error, SIGINT/SIGTERM, the overall time limit), and an
 * exit code that says which.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => Promise<void> | void;

/** A clean-up step that hangs (a child that ignores SIGKILL, a stuck close) is given up after this. */
const CLEANUP_STEP_TIMEOUT_MS = 15_000;

export interface RunGuard {
  tempDir: string;
  /** Registers a clean-up step; steps run last-registered first. Returns a function that unregisters it. */
  onCleanup(step: Cleanup): () => void;
}

async function runStep(step: Cleanup): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step),
      new Promise((resolve) => (timer = setTimeout(resolve, CLEANUP_STEP_TIMEOUT_MS))),
    ]);
  } catch (err) {
    process.stderr.write(`bench: a clean-up step failed: ${(err as Error).message}\n`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `main` inside a guard and exits the process when it ends: 0 on success, 1 on an error or the
 * time limit, 130 on SIGINT, 143 on SIGTERM. The temp dir is removed in every case.
 */
export async function runGuarded(name: string, timeoutMs: number, main: (guard: RunGuard) => Promise<void>): Promise<never> {
  const tempDir = await mkdtemp(join(tmpdir(), `swarmdrop-bench-${name}-`));
  const steps: Cleanup[] = [async () => rm(tempDir, { recursive: true, force: true })];
  let finishing: Promise<never> | undefined;

  const finish = (code: number, why?: string): Promise<never> => {
    finishing ??= (async () => {
      if (why) process.stderr.write(`bench: ${why}\n`);
      for (const step of steps.splice(0).reverse()) await runStep(step);
      process.exit(code);
    })();
    return finishing;
  };

  const guard: RunGuard = {
    tempDir,
    onCleanup: registerIn(steps),
  };

  const limit = setTimeout(() => void finish(1, `time limit of ${Math.round(timeoutMs / 1000)} s reached; stopping`), timeoutMs);
  process.once('SIGINT', () => void finish(130, 'interrupted (SIGINT); cleaning up'));
  process.once('SIGTERM', () => void finish(143, 'terminated (SIGTERM); cleaning up'));
  try {
    await main(guard);
  } catch (err) {
    clearTimeout(limit);
    return finish(1, `failed: ${(err as Error).stack ?? String(err)}`);
  }
  clearTimeout(limit);
  return finish(0);
}

/**
 * Runs one benchmark of a suite inside `guard` with its own temp dir, time limit and clean-up steps:
 * whatever ends it (its result, an error, the limit), its processes and nodes are stopped and its
 * dir removed before the next one starts. Rejects with the error or the time limit.
 */
export async function runScoped<T>(guard: RunGuard, name: string, timeoutMs: number, main: (scope: RunGuard) => Promise<T>): Promise<T> {
  const tempDir = await mkdtemp(join(guard.tempDir, `${name}-`));
  const steps: Cleanup[] = [async () => rm(tempDir, { recursive: true, force: true })];
  const unregister = guard.onCleanup(async () => {
    for (const step of steps.splice(0).reverse()) await runStep(step);
  });
  const scope: RunGuard = {
    tempDir,
    onCleanup: registerIn(steps),
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      main(scope),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`time limit of ${Math.round(timeoutMs / 1000)} s reached`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const step of steps.splice(0).reverse()) await runStep(step);
    unregister();
  }
}

/** `onCleanup` over a list of steps: adds one, and returns the function that takes it off again. */
function registerIn(steps: Cleanup[]): RunGuard['onCleanup'] {
  return (step) => {
    steps.push(step);
    return () => {
      const at = steps.indexOf(step);
      if (at >= 0) steps.splice(at, 1);
    };
  };
}
