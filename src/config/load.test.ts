import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, serveConfigSchema, simConfigSchema } from './index.ts';

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
  assert.equal(config.podsPerNode, 10, 'defaults apply to options nobody set');
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

test('serve options: store specs, lists and cross-field rules are validated', () => {
  const c = loadConfig(serveConfigSchema, { flags: { store: 'etcd:http://127.0.0.1:2379,http://127.0.0.1:2380', natsUrls: 'nats://a:4222, nats://b:4222' } });
  assert.deepEqual(c.store, { kind: 'etcd', endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2380'] });
  assert.deepEqual(c.natsUrls, ['nats://a:4222', 'nats://b:4222']);
  assert.deepEqual(loadConfig(serveConfigSchema, {}).store, { kind: 'lmdb', path: './.data/kubemeta.lmdb' });
  assert.throws(() => loadConfig(serveConfigSchema, { flags: { store: 'sqlite:/x' } }), /--store: must be lmdb:<directory> or etcd:/);
  assert.throws(() => loadConfig(serveConfigSchema, { flags: { natsUser: 'u' } }), /NATS user and password go together/);
  assert.throws(() => loadConfig(serveConfigSchema, { env: { KUBEMETA_NATS_URLS: 'http://x' } }), /is not a NATS URL/);
  assert.throws(() => loadConfig(serveConfigSchema, { flags: { inCluster: true, kubeconfig: '/k' } }), /either --in-cluster or --kubeconfig/);
});
