/**
 * webrtc: a file node to node over WebRTC (the downloader has no TCP and finds the seeder through
 * its /signal), against a raw node-datachannel pump between two processes in the same run, with
 * the message size the node's chunk frames have for that file.
 */
import { parseBytes } from '../../bootstrap-node/config.ts';
import { SWARM_REQUEST_BYTES } from '../../lib/transfer/download-deps.ts';
import { mbps, say, sizeLabel } from '../lib/report.ts';
import { rawDataChannelPump } from '../lib/rtc-pump.ts';
import { seededDownload } from '../lib/seeded-download.ts';
import type { Benchmark } from '../lib/suite.ts';

const RATIO_GOAL = 0.8;

export const webrtcBenchmark: Benchmark = {
  name: 'webrtc',
  timeoutMs: (quick) => (quick ? 180_000 : 360_000),
  async run({ quick, profileDir, guard }) {
    const size = parseBytes(quick ? '64M' : '256M', 'size');
    // Files of 64 MiB and more go out in SWARM_REQUEST_BYTES chunks, one data-channel message each.
    const messageBytes = SWARM_REQUEST_BYTES;
    say(`raw node-datachannel pump: ${sizeLabel(size)} in ${messageBytes / 1024} KiB messages…`);
    const pump = await rawDataChannelPump(guard, size, messageBytes);
    const pumpRate = mbps(pump.bytes, pump.ms);
    say(`  ${pumpRate.toFixed(0)} MB/s`);
    const { run } = await seededDownload(guard, { size, transport: 'webrtc', profileDir });
    return {
      figure: {
        what: `${sizeLabel(size)} node to node over WebRTC`,
        value: mbps(size, run.ms),
        unit: 'MB/s',
        reference: { label: `raw data-channel pump, ${messageBytes / 1024} KiB messages`, value: pumpRate },
        goal: { on: 'ratio', atLeast: RATIO_GOAL },
      },
      more: [{ name: 'webrtc: downloader peak RSS', value: run.peakRssBytes / 1e6, unit: 'MB' }],
      details: { fileBytes: size, downloadMs: run.ms, pump, peers: run.transfer.peers },
    };
  },
};
