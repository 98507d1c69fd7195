/**
 * One table per benchmark run (figure, value, ceiling or reference, ratio, goal, pass/miss) on
 * stdout, and the same figures as JSON in bench/results/<name>-<timestamp>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { GIB, MB, MIB } from './ceilings.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** A goal on the ratio (value / reference) or on the value itself. */
export type Goal = { on: 'ratio' | 'value'; atLeast?: number; below?: number; atMost?: number };

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the value is divided by for its ratio: a ceiling measured in this run, or a known figure. */
  reference?: { label: string; value: number };
  goal?: Goal;
  /** A line of detail kept in the JSON (not in the table). */
  note?: string;
  /** Show this extra figure of a benchmark in the summary table although it has no goal. */
  inTable?: boolean;
  /** Replaces pass/MISS in the table: 'not run: <why>' or 'failed: <why>' (the value is then NaN). */
  outcome?: string;
}

export interface ScoredFigure extends Figure {
  ratio: number | null;
  pass: boolean | null;
}

export function score(figure: Figure): ScoredFigure {
  const ratio = figure.reference && figure.reference.value > 0 && !Number.isNaN(figure.value) ? figure.value / figure.reference.value : null;
  let pass: boolean | null = null;
  if (figure.goal) {
    const measured = figure.goal.on === 'ratio' ? ratio : figure.value;
    if (measured !== null && !Number.isNaN(measured)) {
      pass = (figure.goal.atLeast === undefined || measured >= figure.goal.atLeast) && (figure.goal.below === undefined || measured < figure.goal.below) &&
        (figure.goal.atMost === undefined || measured <= figure.goal.atMost);
    }
  }
  return { ...figure, ratio, pass };
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function formatGoal(goal: Goal | undefined, unit: string): string {
  if (!goal) return '';
  const subject = goal.on === 'ratio' ? 'ratio' : '';
  const suffix = goal.on === 'value' ? ` ${unit}` : '';
  const parts: string[] = [];
  if (goal.atLeast !== undefined) parts.push(`>= ${goal.atLeast}${suffix}`);
  if (goal.below !== undefined) parts.push(`< ${goal.below}${suffix}`);
  if (goal.atMost !== undefined) parts.push(`<= ${goal.atMost}${suffix}`);
  return `${subject} ${parts.join(' and ')}`.trim();
}

/** The figures as an aligned text table. */
export function formatTable(figures: ScoredFigure[]): string {
  const header = ['figure', 'value', 'ceiling / reference', 'ratio', 'goal', 'result'];
  const rows = figures.map((f) => [
    f.name,
    Number.isNaN(f.value) ? '-' : `${formatNumber(f.value)} ${f.unit}`,
    f.reference ? `${f.reference.label} ${formatNumber(f.reference.value)}` : '',
    f.ratio === null ? '' : f.ratio.toFixed(2),
    formatGoal(f.goal, f.unit),
    f.outcome ?? (f.pass === null ? '' : f.pass ? 'pass' : 'MISS'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface Report {
  name: string;
  figures: ScoredFigure[];
  /** Anything else worth keeping with the figures: ceilings with what they timed, sizes, timings. */
  details: Record<string, unknown>;
}

/** Prints the table and writes the JSON; returns the JSON's path. */
export async function publish(name: string, figures: Figure[], details: Record<string, unknown>): Promise<{ report: Report; path: string }> {
  const report: Report = { name, figures: figures.map(score), details };
  process.stdout.write(`\n${formatTable(report.figures)}\n`);
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    totalMemBytes: totalmem(),
    loadAverageAtEnd: loadavg(),
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}-${stamp}.json`);
  await writeFile(path, `${JSON.stringify({ ...report, machine, at: new Date().toISOString() }, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path}\n`);
  return { report, path };
}

export const mbps = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);
export const sizeLabel = (bytes: number): string =>
  bytes >= GIB && bytes % GIB === 0 ? `${bytes / GIB} GiB` : `${Math.round(bytes / MIB)} MiB`;
export const say = (text: string): void => void process.stdout.write(`${text}\n`);
