import { afterEach, beforeEach } from 'vitest';
import { nodesOfThisTest } from './test-node.ts';

/**
 * Vitest setup file: when a test fails, prints the last log lines (info and above) of every node it
 * started, so a failure in CI says what each node saw (links tried and refused, peers joined and
 * left) without a rerun. Registered before any test file's hooks, so it runs after them: the nodes
 * are closed by then, their logs are kept.
 */
const LINES_PER_NODE = 60;

beforeEach(() => {
  nodesOfThisTest.length = 0;
});

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const node of nodesOfThisTest) {
    const tail = node.logs.filter((line) => Number(line.level) >= 30).slice(-LINES_PER_NODE);
    const name = node.config.name ?? node.peer.id;
    console.log(`--- node ${name} (${node.peer.id}): last ${tail.length} log lines\n${tail.map((l) => JSON.stringify(l)).join('\n')}`);
  }
});
