/** multi-source: three seeders capped at R each, one downloader: the aggregate against R. */
import { parseBytes } from '../../bootstrap-node/config.ts';
import { sizeLabel } from '../lib/report.ts';
import type { Benchmark } from '../lib/suite.ts';
import { multiSource } from '../lib/tcp-runs.ts';

export const multiSourceBenchmark: Benchmark = {
  name: 'multi-source',
  timeoutMs: (quick) => (quick ? 120_000 : 240_000),
  async run({ quick, profileDir, guard }) {
    const multiSize = parseBytes(quick ? '96M' : '256M', 'size');
    const { figures, details } = await multiSource(guard, { multiSize, profileDir });
    const main = figures[0]!;
    return { figure: { ...main, what: `${sizeLabel(multiSize)} from 3 seeders capped at R each` }, details };
  },
};
