/** memory: the downloader's peak resident set over a large download. */
import { parseBytes } from '../../bootstrap-node/config.ts';
import { MB } from '../lib/ceilings.ts';
import { mbps, sizeLabel } from '../lib/report.ts';
import { seededDownload } from '../lib/seeded-download.ts';
import type { Benchmark } from '../lib/suite.ts';
import { PEAK_RSS_GOAL_MB } from '../lib/tcp-runs.ts';

export const memoryBenchmark: Benchmark = {
  name: 'memory',
  timeoutMs: (quick) => (quick ? 180_000 : 480_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '512M' : '2G', 'size');
    const { run } = await seededDownload(guard, { size, transport: 'tcp', profileDir });
    return {
      figure: {
        what: `peak RSS of a node downloading ${sizeLabel(size)} (TCP)`,
        value: run.peakRssBytes / MB,
        unit: 'MB',
        goal: { on: 'value', below: PEAK_RSS_GOAL_MB },
      },
      more: [
        { name: 'memory: peak RSS at completed', value: run.peakRssAtCompletedBytes / MB, unit: 'MB' },
        { name: 'memory: download rate', value: mbps(size, run.ms), unit: 'MB/s' },
      ],
      details: { fileBytes: size, downloadMs: run.ms, peakRssBytes: run.peakRssBytes, peakRssAtCompletedBytes: run.peakRssAtCompletedBytes },
    };
  },
};
