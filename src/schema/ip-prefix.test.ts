import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixTable, coveringPrefix, formatIp, formatPrefix, mergePrefixes, parseIp, parsePrefix, prefixContainsIp, widenPrefix, type IpPrefix } from './ip-prefix.ts';

const p = (text: string): IpPrefix => parsePrefix(text) as IpPrefix;

test('addresses parse in their usual text forms and print canonically (RFC 5952 for IPv6)', () => {
  assert.equal(formatIp(parseIp('10.0.0.1')!), '10.0.0.1');
  assert.equal(formatIp(parseIp('FD00:0:0:0:0:0:0:A')!), 'fd00::a');
  assert.equal(formatIp(parseIp('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  assert.equal(formatIp(parseIp('::')!), '::');
  assert.equal(formatIp(parseIp('fe80::1%eth0')!), 'fe80::1');
  assert.deepEqual(parseIp('::ffff:10.1.2.3'), { family: 4, value: 0x0a010203n }, 'IPv4-mapped is IPv4');
  for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', 'None']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('prefixes clear host bits, contain, cover, widen and merge', () => {
  assert.equal(formatPrefix(p('10.0.0.7/8')), '10.0.0.0/8');
  assert.equal(parsePrefix('10.0.0.0/33'), undefined);
  assert.equal(parsePrefix('10.0.0.0'), undefined);
  assert.ok(prefixContainsIp(p('10.96.0.0/12'), parseIp('10.111.255.255')!));
  assert.ok(!prefixContainsIp(p('10.96.0.0/12'), parseIp('10.112.0.0')!));
  assert.equal(formatPrefix(coveringPrefix(4, parseIp('10.96.0.1')!.value, parseIp('10.96.3.200')!.value)), '10.96.0.0/22');
  assert.equal(formatPrefix(widenPrefix(p('10.244.7.0/24'), 16)), '10.244.0.0/16');
  assert.equal(formatPrefix(widenPrefix(p('fd00:10:244:7::/64'), 48)), 'fd00:10:244::/48');
  assert.deepEqual(
    mergePrefixes(['fd00::/64', '10.0.1.0/24', '10.0.0.0/24', '10.0.0.128/25', '10.0.2.0/24'].map(p)).map(formatPrefix),
    ['10.0.0.0/23', '10.0.2.0/24', 'fd00::/64'],
  );
});

test('the prefix table answers with the most specific match', () => {
  const table = new PrefixTable([{ prefix: p('10.0.0.0/8'), tag: 'pod' }, { prefix: p('10.96.0.0/12'), tag: 'service' }]);
  assert.equal(table.lookup(parseIp('10.96.0.1')!)?.tag, 'service');
  assert.equal(table.lookup(parseIp('10.1.0.1')!)?.tag, 'pod');
  assert.equal(table.lookup(parseIp('192.168.0.1')!), undefined);
  assert.equal(table.lookup(parseIp('::1')!), undefined, 'another family never matches');
});
