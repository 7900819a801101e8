import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENTS_OPTIONS, agentsCommandSchema, loadAgentsConfig, summaryLine } from './agents-command.ts';

test('every agents flag is an agents config option, and every option has a flag', () => {
  assert.deepEqual(AGENTS_OPTIONS.map((o) => o.key).sort(), Object.keys(agentsCommandSchema.shape).sort());
});

test('--nodes takes all or a count; other values are refused naming the flag', () => {
  assert.equal(loadAgentsConfig({}, {}).nodes, 'all');
  assert.equal(loadAgentsConfig({ nodes: '12', rate: '5' }, {}).nodes, 12);
  assert.equal(loadAgentsConfig({}, { KUBEMETA_NODES: 'all' }).nodes, 'all');
  assert.throws(() => loadAgentsConfig({ nodes: 'some' }, {}), /--nodes/);
  assert.throws(() => loadAgentsConfig({ nodes: '0' }, {}), /--nodes/);
  assert.throws(() => loadAgentsConfig({ cluster: 'a b' }, {}), /--cluster/);
});

test('the summary line says agents, sync, rows, queries and hydration throughput', () => {
  const line = summaryLine(
    { agents: 20, inSync: 19, connections: 1, activeProcesses: 812, rowsRecorded: 12_345, rowsHeld: 12_000, queriesAnswered: 7, queriesRefused: 1, hydratedRows: 50_000, hydrateMs: 5 },
    65_000,
  );
  assert.equal(line, '  65s  agents: 20 connected (1 NATS connection), 19 in sync  |  812 processes, rows: 12,345 recorded, 12,000 held  |  queries: 7 answered, 1 refused, hydration 10,000,000 rows/s');
});
