import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serveConfigSchema, simConfigSchema } from '../config/index.ts';
import { SERVE_OPTIONS, SIM_OPTIONS } from './options.ts';

test('every sim flag is a sim config option, and every sim config option has a flag', () => {
  assert.deepEqual(SIM_OPTIONS.map((o) => o.key).sort(), Object.keys(simConfigSchema.shape).sort());
});

test('every serve flag is a serve config option, and every serve config option has a flag', () => {
  assert.deepEqual(SERVE_OPTIONS.map((o) => o.key).sort(), Object.keys(serveConfigSchema.shape).sort());
});
