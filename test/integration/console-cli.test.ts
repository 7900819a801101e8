// `kubemeta console` options: every flag is an option of consoleConfigSchema and every option
// has a flag (as options.test.ts checks for serve and sim), and the loader validates them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_OPTIONS, loadConsoleConfig } from '../../src/cli/console-command.ts';
import { consoleConfigSchema } from '../../src/console/index.ts';

test('every console flag is a console config option, and every console config option has a flag', () => {
  assert.deepEqual(CONSOLE_OPTIONS.map((o) => o.key).sort(), Object.keys(consoleConfigSchema.shape).sort());
});

test('console options: repeated clusters, defaults, and errors that name the option', () => {
  const config = loadConsoleConfig({ cluster: ['prod', 'staging'], nats: ['nats://a:4222', 'nats://b:4222'] }, {});
  assert.deepEqual(config.cluster, ['prod', 'staging']);
  assert.deepEqual(config.nats, ['nats://a:4222', 'nats://b:4222']);
  assert.equal(config.http, '127.0.0.1:8090');
  assert.equal(config.retentionMs, 3_600_000);
  assert.deepEqual(loadConsoleConfig({}, { KUBEMETA_CLUSTER: 'a,b' }).cluster, ['a', 'b']);
  assert.throws(() => loadConsoleConfig({ cluster: ['prod', 'prod'] }, {}), /--cluster: lists a cluster twice/);
  assert.throws(() => loadConsoleConfig({ cluster: ['no spaces'] }, {}), /--cluster.*must be a cluster name/);
  assert.throws(() => loadConsoleConfig({ http: '8090' }, {}), /--http: must be host:port/);
  assert.throws(() => loadConsoleConfig({ nats: ['localhost:4222'] }, {}), /--nats.*must be a NATS URL/);
});
