/** tcp: one file node to node over loopback TCP, against the lowest raw ceiling of this run. */
import { parseBytes } from '../../bootstrap-node/config.ts';
import { measureCeilings } from '../lib/ceilings.ts';
import { say, sizeLabel } from '../lib/report.ts';
import type { Benchmark } from '../lib/suite.ts';
import { singleSource } from '../lib/tcp-runs.ts';

export const tcpBenchmark: Benchmark = {
  name: 'tcp',
  timeoutMs: (quick) => (quick ? 180_000 : 420_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '256M' : '1G', 'size');
    say(`measuring the ceilings over ${sizeLabel(size)} each…`);
    const ceilings = await measureCeilings(guard.tempDir, size);
    for (const c of ceilings) say(`  ${c.name}: ${c.mbPerSec.toFixed(0)} MB/s`);
    const { figures, details } = await singleSource(guard, { size, profileDir }, ceilings);
    const main = figures.find((f) => f.name.endsWith('node to node, TCP'))!;
    return {
      figure: { ...main, what: `${sizeLabel(size)} node to node over TCP, verified, on disk` },
      more: figures.filter((f) => f !== main && !f.name.includes('vs WebTorrent')).map((f) => ({ ...f, name: `tcp: ${f.name}` })),
      details: { ...details, ceilings },
    };
  },
};
