import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from './errors.ts';
import { LabelSelectorError, parseLabelSelector } from './label-selector.ts';

const labels = { app: 'web', tier: 'frontend', version: '3' };

describe('parseLabelSelector', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['  ', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['tier in (frontend, backend)', true],
    ['tier in (backend)', false],
    ['tier notin (backend)', true],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app=web,tier in (frontend,backend),!missing', true],
    ['app=web, tier=backend', false],
    ['version>2', true],
    ['version<3', false],
    ['app>2', false],
    ['missing<9', false],
    ['example.com/owner!=me', true],
  ];
  for (const [selector, expected] of cases) {
    it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseLabelSelector(selector, { numericComparisons: true }).matches(labels), expected);
    });
  }

  it('reads the kubectl syntax into requirements as apimachinery does', () => {
    const s = parseLabelSelector('app=web, tier!=db,env in (prod, staging),team notin (x),managed,!canary,k8s.io/name==x');
    assert.deepEqual(s.requirements.map((r) => [r.key, r.operator, r.values]), [
      ['app', 'in', ['web']], ['tier', 'notin', ['db']], ['env', 'in', ['prod', 'staging']], ['team', 'notin', ['x']],
      ['managed', 'exists', []], ['canary', 'doesNotExist', []], ['k8s.io/name', 'in', ['x']],
    ]);
    assert.equal(s.matches({ app: 'web', env: 'prod', managed: '', 'k8s.io/name': 'x' }), true);
    assert.equal(s.matches({ app: 'web', env: 'prod', managed: '', 'k8s.io/name': 'x', canary: '1' }), false);
    assert.deepEqual(parseLabelSelector('version>2', { numericComparisons: true }).requirements, [{ key: 'version', operator: 'gt', values: ['2'] }]);
  });

  it('treats an object without labels as having none', () => {
    assert.equal(parseLabelSelector('app!=web').matches(undefined), true);
    assert.equal(parseLabelSelector('app').matches(undefined), false);
    assert.equal(parseLabelSelector('').matches({}), true);
  });

  it('refuses key>N and key<N unless the caller accepts numeric comparisons', () => {
    assert.throws(() => parseLabelSelector('version>2'), LabelSelectorError);
    assert.throws(() => parseLabelSelector('version<2'), LabelSelectorError);
  });

  const bad = ['app=we b', 'a b c', 'app in ()', '-bad=x', 'app=(x)', 'app in web', 'a,', 'a,,b', 'version>x', `${'k'.repeat(64)}=v`, `k=${'v'.repeat(64)}`];
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text)}, naming the requirement`, () => {
      assert.throws(
        () => parseLabelSelector(text, { numericComparisons: true }),
        (err: unknown) => err instanceof LabelSelectorError && err instanceof InvalidArgumentError && err.code === 'CORE_INVALID_ARGUMENT' && text.includes(err.requirement) && err.problem !== '',
      );
    });
  }
});
