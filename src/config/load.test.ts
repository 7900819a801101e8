import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, simConfigSchema } from './index.ts';

test('flags override environment, which overrides the file, which overrides defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubemeta-config-'));
  const file = join(dir, 'kubemeta.yaml');
  writeFileSync(file, 'sim:\n  nodes: 7\n  seed: 3\n  port: 1234\n');
  const config = loadConfig(simConfigSchema, {
    file,
    fileSection: 'sim',
    env: { KUBEMETA_SEED: '9', KUBEMETA_PORT: '2345' },
    flags: { port: '3456' },
  });
  assert.equal(config.nodes, 7);
  assert.equal(config.seed, 9);
  assert.equal(config.port, 3456);
  assert.equal(config.podsPerNode, 8, 'defaults apply to options nobody set');
  assert.ok(Object.isFrozen(config));
});

test('every invalid option is reported at once, named as the user wrote it', () => {
  assert.throws(
    () => loadConfig(simConfigSchema, { env: { KUBEMETA_NODES: 'many' }, flags: { port: '70000' } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_INVALID');
      const options = err.problems.map((p) => p.option).sort();
      assert.deepEqual(options, ['--port', 'KUBEMETA_NODES']);
      assert.match(err.message, /--port: must be 0 \(any free port\) to 65535/);
      return true;
    },
  );
});

test('an unknown key in the config file is an error, not silently ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubemeta-config-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'nodez: 3\n');
  assert.throws(() => loadConfig(simConfigSchema, { file }), /c\.yaml: nodez: unknown option/);
});

test('an unreadable config file names the file', () => {
  assert.throws(() => loadConfig(simConfigSchema, { file: '/nonexistent/kubemeta.yaml' }), /cannot read \/nonexistent\/kubemeta\.yaml/);
});

test('boolean options read "false" from the environment as false', () => {
  assert.equal(loadConfig(simConfigSchema, { env: { KUBEMETA_DAEMONSETS: 'false' } }).daemonsets, false);
  assert.equal(loadConfig(simConfigSchema, { env: { KUBEMETA_TLS: 'true' } }).tls, true);
  assert.throws(() => loadConfig(simConfigSchema, { env: { KUBEMETA_TLS: 'maybe' } }), /KUBEMETA_TLS: must be true or false/);
});
