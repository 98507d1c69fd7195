/**
 * What one benchmark of `npm run bench` is: a name, a time limit, and a run that returns its row
 * (one figure, with its ceiling or reference measured in the same run) and details for the JSON.
 */
import type { Figure } from './report.ts';
import type { RunGuard } from './run-guard.ts';

export interface SuiteContext {
  /** Smaller sizes and fewer repetitions, for a run while developing. */
  quick: boolean;
  profileDir: string | null;
  /** The benchmark's own temp dir and clean-up steps (run when it ends, however it ends). */
  guard: RunGuard;
}

export interface SuiteResult {
  /** The table row: its name is replaced by the benchmark's name. */
  figure: Omit<Figure, 'name'> & { what: string };
  /** Further figures of the same run, kept in the JSON. */
  more?: Figure[];
  details?: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  /** Upper bound on the whole benchmark, ms; it is stopped and cleaned up after this. */
  timeoutMs(quick: boolean): number;
  run(context: SuiteContext): Promise<SuiteResult>;
}
