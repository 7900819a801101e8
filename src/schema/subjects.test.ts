import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_SCOPE, clusterSubjects, escapeSubjectToken, formatScope, isValidNodeName, nodeScope, parseScope,
  parseScopeSubject, scopeEquals, scopeSubject, unescapeSubjectToken,
} from './index.ts';
import { seededRandom } from '../../test/fixtures/updates.ts';

test('scopes parse from and format to their wire strings', () => {
  assert.deepEqual(parseScope('cluster'), CLUSTER_SCOPE);
  assert.deepEqual(parseScope('node/ip-10-0-0-1.ec2.internal'), { kind: 'node', node: 'ip-10-0-0-1.ec2.internal' });
  for (const text of ['cluster', 'node/a', 'node/worker-1.eu-west-1.compute.internal']) assert.equal(formatScope(parseScope(text)), text);
  assert.ok(scopeEquals(parseScope('node/a'), nodeScope('a')));
  assert.ok(!scopeEquals(parseScope('node/a'), CLUSTER_SCOPE));
});

test('scopes that name no valid node are refused with the rule in the message', () => {
  for (const bad of ['', 'Cluster', 'node/', 'node/Worker', 'node/a..b', 'node/-a', 'node/a b', 'node/a/b', `node/${'a'.repeat(254)}`, 'nodes/a']) {
    assert.throws(() => parseScope(bad), { code: 'SCHEMA_INVALID_SCOPE' }, `accepted ${JSON.stringify(bad)}`);
  }
  assert.throws(() => nodeScope('UPPER'), /DNS-1123 subdomain/);
  assert.ok(isValidNodeName('a'.repeat(253)));
});

test('subjects follow kubemeta.<cluster>.<scope> with the node name escaped into one token', () => {
  const s = clusterSubjects('prod-eu');
  assert.equal(s.clusterScope, 'kubemeta.prod-eu.cluster');
  assert.equal(s.scope(CLUSTER_SCOPE), 'kubemeta.prod-eu.cluster');
  assert.equal(s.scope(nodeScope('ip-10-0-0-1.ec2.internal')), 'kubemeta.prod-eu.node.ip-10-0-0-1%2Eec2%2Einternal');
  assert.equal(s.replay, 'kubemeta.prod-eu.replay');
  assert.equal(s.agentsRegister, 'kubemeta.prod-eu.agents.register');
  assert.equal(s.allNodeScopes, 'kubemeta.prod-eu.node.*');
  assert.equal(s.agentQuery('ip-10-0-0-1.ec2.internal'), 'kubemeta.prod-eu.query.node.ip-10-0-0-1%2Eec2%2Einternal');
  assert.equal(s.allAgentQueries, 'kubemeta.prod-eu.query.node.*');
  assert.throws(() => s.agentQuery('UPPER'), /DNS-1123 subdomain/);
  assert.equal(scopeSubject('my.cluster', CLUSTER_SCOPE), 'kubemeta.my%2Ecluster.cluster');
});

test('bad cluster names are refused', () => {
  for (const bad of ['', 'a b', '*', '>', 'a.', '-a', 'ä', 'a'.repeat(254)]) {
    assert.throws(() => clusterSubjects(bad), { code: 'SCHEMA_INVALID_SUBJECT' }, `accepted ${JSON.stringify(bad)}`);
  }
});

test('scope subjects read back to their cluster and scope', () => {
  const random = seededRandom(7);
  for (let i = 0; i < 500; i++) {
    const cluster = randomDnsName(random).slice(0, 60).replace(/[.-]+$/, '') || 'c';
    const scope = i % 5 === 0 ? CLUSTER_SCOPE : nodeScope(randomDnsName(random));
    const back = parseScopeSubject(scopeSubject(cluster, scope));
    assert.equal(back.cluster, cluster);
    assert.ok(scopeEquals(back.scope, scope));
  }
  for (const bad of ['kubemeta.c', 'kubemeta.c.replay', 'other.c.cluster', 'kubemeta.c.node.A', 'kubemeta.c.node.a.b', 'kubemeta.c.node.a%2e']) {
    assert.throws(() => parseScopeSubject(bad), { code: 'SCHEMA_INVALID_SUBJECT' }, `accepted ${bad}`);
  }
});

/** What a NATS subject token may not contain (separator, wildcards, whitespace). */
const FORBIDDEN = /[.*>\s]/u;

test('escaping round-trips random DNS node names into single valid tokens', () => {
  const random = seededRandom(0xd15);
  for (let i = 0; i < 5000; i++) {
    const name = randomDnsName(random);
    assert.ok(isValidNodeName(name), name);
    const token = escapeSubjectToken(name);
    assert.ok(!FORBIDDEN.test(token), `${name} escaped to ${token}`);
    assert.equal(unescapeSubjectToken(token), name);
  }
});

test('escaping round-trips arbitrary strings, including the escape character, wildcards and non-ASCII', () => {
  const random = seededRandom(0xbeef);
  const alphabet = ['.', '*', '>', ' ', '\t', '\n', '\r', '%', '%2E', 'a', 'Z', '0', '-', '_', '$', 'é', '日', '🙂', '\u0000', '\u00a0', '\u2028'];
  for (let i = 0; i < 5000; i++) {
    const length = 1 + Math.floor(random() * 24);
    const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]!).join('');
    const token = escapeSubjectToken(text);
    assert.match(token, /^[A-Za-z0-9_%-]+$/, `${JSON.stringify(text)} escaped to ${token}`);
    assert.equal(unescapeSubjectToken(token), text);
  }
  assert.equal(escapeSubjectToken('a%b'), 'a%25b');
});

test('only the canonical escaped form unescapes, so each name has exactly one token', () => {
  for (const bad of ['a%2e', 'a%41', 'a%', 'a%2', 'a.b', 'a*', '%FF', '']) {
    assert.throws(() => unescapeSubjectToken(bad), { code: 'SCHEMA_INVALID_SUBJECT' }, `accepted ${bad}`);
  }
  assert.throws(() => escapeSubjectToken(''), { code: 'SCHEMA_INVALID_SUBJECT' });
});

/** A random DNS-1123 subdomain: 1–5 labels of [a-z0-9-], not starting or ending with '-'. */
function randomDnsName(random: () => number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789-';
  const labels = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
    const len = 1 + Math.floor(random() * 20);
    let label = '';
    for (let i = 0; i < len; i++) {
      const edge = i === 0 || i === len - 1;
      label += chars[Math.floor(random() * (edge ? chars.length - 1 : chars.length))];
    }
    return label;
  });
  return labels.join('.');
}
