import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/index.ts';
import { AutocompleteIndex, type EntityInput, type Suggestion } from './autocomplete-index.ts';

// A small shop cluster: namespace shop with a checkout Deployment (ReplicaSet, two pods with
// an app and an istio-proxy container each) and Service, a catalog Deployment, two nodes.
function shop(): EntityInput[] {
  return [
    { kind: 'namespace', key: 'ns-shop', name: 'shop', labels: { team: 'payments' } },
    { kind: 'namespace', key: 'ns-ops', name: 'ops' },
    { kind: 'node', key: 'n1', name: 'ip-10-0-1-17.ec2.internal' },
    { kind: 'node', key: 'n2', name: 'ip-10-0-2-5.ec2.internal' },
    { kind: 'deployment', key: 'd1', name: 'checkout', namespace: 'shop', labels: { app: 'checkout' } },
    { kind: 'replicaset', key: 'rs1', name: 'checkout-7d9f8b6c5d', namespace: 'shop', labels: { app: 'checkout' } },
    { kind: 'service', key: 's1', name: 'checkout', namespace: 'shop' },
    { kind: 'service', key: 's2', name: 'frontend', namespace: 'shop' },
    { kind: 'pod', key: 'p1', name: 'checkout-7d9f8b6c5d-x8kqz', namespace: 'shop', labels: { app: 'checkout', tier: 'api' } },
    { kind: 'pod', key: 'p2', name: 'checkout-7d9f8b6c5d-b2wqp', namespace: 'shop', labels: { app: 'checkout', tier: 'api' } },
    { kind: 'container', key: 'c1', name: 'checkout', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-x8kqz' },
    { kind: 'container', key: 'c2', name: 'istio-proxy', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-x8kqz' },
    { kind: 'deployment', key: 'd2', name: 'catalog-api', namespace: 'shop', labels: { app: 'catalog-api' } },
    { kind: 'deployment', key: 'd3', name: 'prometheus', namespace: 'ops' },
    { kind: 'pod', key: 'p3', name: 'prometheus-0', namespace: 'ops', labels: { app: 'prometheus' } },
  ];
}

function shopIndex(clock = new ManualClock(1_000_000)): AutocompleteIndex {
  const index = new AutocompleteIndex({ clock, retentionMs: 60_000 });
  index.replace('prod', shop());
  return index;
}

const brief = (s: Suggestion): string => `${s.kind}:${s.namespace ? `${s.namespace}/` : ''}${s.name}${s.pod ? `@${s.pod}` : ''} ${s.match}${s.distance ? s.distance : ''}${s.live ? '' : ' gone'}`;
const names = (r: { suggestions: Suggestion[] }): string[] => r.suggestions.map(brief);

test('ranks exact matches, then prefix, substring and fuzzy matches; ties by name length, then kind', () => {
  const r = shopIndex().search({ q: 'checkout', limit: 20 });
  assert.deepEqual(names(r).slice(0, 6), [
    'service:shop/checkout exact',
    'deployment:shop/checkout exact',
    'container:shop/checkout@checkout-7d9f8b6c5d-x8kqz exact',
    'replicaset:shop/checkout-7d9f8b6c5d prefix',
    'pod:shop/checkout-7d9f8b6c5d-b2wqp prefix',
    'pod:shop/checkout-7d9f8b6c5d-x8kqz prefix',
  ]);
  const matches = r.suggestions.map((s) => s.match);
  assert.deepEqual(matches, [...matches].sort((a, b) => ['exact', 'prefix', 'substring', 'fuzzy'].indexOf(a) - ['exact', 'prefix', 'substring', 'fuzzy'].indexOf(b)));
  assert.ok(names(r).includes('label:app=checkout substring'), 'the label value matches as a substring at a word start');
});

test('a substring at a word start ranks before one inside a word', () => {
  const index = new AutocompleteIndex();
  index.replace('c', [
    { kind: 'service', key: 'a', name: 'rapids', namespace: 'x' },
    { kind: 'service', key: 'b', name: 'shop-api-gateway', namespace: 'x' },
  ]);
  assert.deepEqual(names(index.search({ q: 'api' })), ['service:x/shop-api-gateway substring', 'service:x/rapids substring']);
});

test('typos: one edit up to 7 characters, two from 8, none below 4; transpositions count as one', () => {
  const index = shopIndex();
  const top = (q: string): string | undefined => index.search({ q }).suggestions[0] && brief(index.search({ q }).suggestions[0] as Suggestion);
  assert.equal(top('chekcout'), 'service:shop/checkout fuzzy1', 'transposition');
  assert.equal(top('chekout'), 'service:shop/checkout fuzzy1', 'deletion');
  assert.equal(top('frontnd'), 'service:shop/frontend fuzzy1', 'deletion inside');
  assert.equal(top('frantend'), 'service:shop/frontend fuzzy1', 'substitution');
  assert.equal(top('prometeus-0'), 'pod:ops/prometheus-0 fuzzy1');
  assert.equal(top('promethues-0'), 'pod:ops/prometheus-0 fuzzy1', 'transposition in a long name');
  assert.equal(top('prmetheos-0'), 'pod:ops/prometheus-0 fuzzy2', 'two edits in 11 characters');
  assert.equal(index.search({ q: 'frxntxnd' }).suggestions.length, 1, 'two substitutions in 8 characters');
  assert.equal(index.search({ q: 'fxontxnd' }).suggestions[0]?.distance, 2);
  assert.equal(index.search({ q: 'frxnt' }).suggestions.length, 1, 'one typo in 5 characters');
  assert.equal(index.search({ q: 'fxxnt' }).suggestions.length, 0, 'not two in 5');
  assert.equal(index.search({ q: 'fro' }).suggestions.length, 1);
  assert.equal(index.search({ q: 'frx' }).suggestions.length, 0, 'no typos below 4 characters');
  // a typo'd prefix of a long name finds it while it is being typed
  assert.deepEqual(names(index.search({ q: 'chekcout-7d9', kinds: ['pod'] })), [
    'pod:shop/checkout-7d9f8b6c5d-b2wqp fuzzy1', 'pod:shop/checkout-7d9f8b6c5d-x8kqz fuzzy1',
  ]);
});

test('highlights are [start, end) offsets of the matched characters in the name', () => {
  const index = shopIndex();
  const first = (q: string): Suggestion => index.search({ q }).suggestions[0] as Suggestion;
  assert.deepEqual(first('frontend').highlights, [[0, 8]]);
  assert.deepEqual(first('front').highlights, [[0, 5]]);
  assert.deepEqual(first('x8kqz').highlights, [[20, 25]]);
  assert.deepEqual(first('frontnd').highlights, [[0, 5], [6, 8]], 'the skipped "e" is not highlighted');
  assert.deepEqual(first('chekcout').highlights, [[0, 8]], 'a transposition highlights both characters');
  assert.deepEqual(first('frantend').highlights, [[0, 2], [3, 8]], 'a substituted character is not highlighted');
});

test('kind filters accept kubectl names and aliases; the kind parameter intersects', () => {
  const index = shopIndex();
  assert.deepEqual(names(index.search({ q: 'svc:check' })), ['service:shop/checkout prefix']);
  assert.deepEqual(names(index.search({ q: 'deploy:che' })), ['deployment:shop/checkout prefix']);
  assert.deepEqual(names(index.search({ q: 'rs:checkout' })), ['replicaset:shop/checkout-7d9f8b6c5d prefix']);
  assert.deepEqual(names(index.search({ q: 'no:ip-10-0-2' })), ['node:ip-10-0-2-5.ec2.internal prefix', 'node:ip-10-0-1-17.ec2.internal fuzzy1']);
  assert.deepEqual(names(index.search({ q: 'ctr:istio' })), ['container:shop/istio-proxy@checkout-7d9f8b6c5d-x8kqz prefix']);
  assert.deepEqual(names(index.search({ q: 'svc,deploy:checkout' })), ['service:shop/checkout exact', 'deployment:shop/checkout exact']);
  assert.deepEqual(names(index.search({ q: 'workload:prom' })), ['deployment:ops/prometheus prefix']);
  assert.deepEqual(names(index.search({ q: 'checkout', kinds: ['deployment'] })), ['deployment:shop/checkout exact']);
  assert.deepEqual(names(index.search({ q: 'svc:checkout', kinds: ['deployment'] })), [], 'no kind in both');
  assert.deepEqual(names(index.search({ q: 'label:tier' })), ['label:tier=api prefix']);
  assert.throws(() => index.search({ q: 'pdo:x' }), (err: Error & { code?: string }) => err.code === 'CONSOLE_UNKNOWN_KIND' && /unknown kind "pdo"/.test(err.message));
});

test('ns/name scopes to one namespace; an empty name lists what the filters select', () => {
  const index = shopIndex();
  assert.deepEqual(names(index.search({ q: 'ops/prom' })), ['deployment:ops/prometheus prefix', 'pod:ops/prometheus-0 prefix']);
  assert.deepEqual(names(index.search({ q: 'shop/prom' })), []);
  assert.deepEqual(names(index.search({ q: 'pod:ops/' })), ['pod:ops/prometheus-0 prefix']);
  assert.deepEqual(names(index.search({ q: 'ns:' })), ['namespace:ops prefix', 'namespace:shop prefix']);
  // label keys with a DNS prefix are not namespaces
  const labelled = new AutocompleteIndex();
  labelled.replace('c', [{ kind: 'pod', key: 'p', name: 'web-1', namespace: 'a', labels: { 'app.kubernetes.io/name': 'web' } }]);
  assert.deepEqual(names(labelled.search({ q: 'app.kubernetes.io/name=w' })), ['label:app.kubernetes.io/name=web prefix']);
});

test('labels are key=value entities counting the live objects that carry them', () => {
  const clock = new ManualClock(1_000_000);
  const index = shopIndex(clock);
  const label = (q: string): Suggestion | undefined => index.search({ q: `label:${q}` }).suggestions.find((s) => s.name === q);
  assert.equal(label('app=checkout')?.count, 4, 'deployment, replicaset, two pods');
  assert.equal(label('tier=api')?.count, 2);
  index.upsert('prod', { kind: 'pod', key: 'p1', name: 'checkout-7d9f8b6c5d-x8kqz', namespace: 'shop', labels: { app: 'checkout', tier: 'api' }, deleted: true });
  assert.equal(label('tier=api')?.count, 1, 'a deleted pod no longer counts');
  index.upsert('prod', { kind: 'pod', key: 'p2', name: 'checkout-7d9f8b6c5d-b2wqp', namespace: 'shop', labels: { app: 'checkout', tier: 'web' } });
  assert.equal(label('tier=api')?.live, false, 'no live object carries it');
  assert.equal(label('tier=web')?.count, 1);
  clock.advance(60_001);
  assert.equal(label('tier=api'), undefined, 'forgotten after retention');
});

test('deleted entities stay findable, flagged and ranked after live ones, until retention ends', () => {
  const clock = new ManualClock(1_000_000);
  const index = shopIndex(clock);
  index.upsert('prod', { kind: 'pod', key: 'p1', name: 'checkout-7d9f8b6c5d-x8kqz', namespace: 'shop', deleted: true });
  clock.advance(10_000);
  index.remove('prod', 'pod', 'p3');
  const pods = index.search({ q: 'pod:checkout-7d9f' }).suggestions;
  assert.deepEqual(pods.map(brief), ['pod:shop/checkout-7d9f8b6c5d-b2wqp prefix', 'pod:shop/checkout-7d9f8b6c5d-x8kqz prefix gone']);
  assert.equal(pods[1]?.gone, 'deleted');
  assert.equal(pods[1]?.goneAtMs, 1_000_000);
  assert.equal(index.search({ q: 'pod:prometheus-0' }).suggestions[0]?.gone, 'removed');
  assert.equal(index.stats().live, index.stats().entries - 3, 'two pods, and label app=prometheus that only the removed pod carried');
  clock.advance(50_000);
  assert.equal(index.search({ q: 'x8kqz' }).suggestions.length, 0, 'the deleted pod is forgotten 60 s after it went');
  assert.equal(index.search({ q: 'pod:prometheus-0' }).suggestions.length, 1, 'the removed one went 10 s later: not yet');
  index.upsert('prod', { kind: 'pod', key: 'p3', name: 'prometheus-0', namespace: 'ops' });
  clock.advance(20_000);
  assert.equal(index.search({ q: 'pod:prometheus-0' }).suggestions[0]?.live, true, 'it came back: live, and its old retention record is ignored');
});

test('several clusters: every result names its cluster, and a query may keep to some', () => {
  const index = shopIndex();
  index.replace('staging', [{ kind: 'service', key: 's9', name: 'checkout', namespace: 'shop' }]);
  const all = index.search({ q: 'svc:checkout' }).suggestions;
  assert.deepEqual(all.map((s) => s.cluster), ['prod', 'staging']);
  assert.deepEqual(index.search({ q: 'svc:checkout', clusters: ['staging'] }).suggestions.map((s) => s.key), ['s9']);
  assert.deepEqual(index.search({ q: 'svc:checkout', clusters: ['nope'] }).suggestions, []);
  assert.deepEqual(index.clusterNames(), ['prod', 'staging']);
  const stats = index.stats();
  assert.equal(stats.clusters['staging']?.entries, 1);
  assert.equal((stats.clusters['prod']?.entries ?? 0) + 1, stats.entries);
  assert.ok(stats.bytes > 0);
  index.dropCluster('staging');
  assert.deepEqual(index.search({ q: 'svc:checkout' }).suggestions.map((s) => s.cluster), ['prod']);
});

test('replace() flags live entities missing from the new state as removed', () => {
  const index = shopIndex();
  index.replace('prod', shop().filter((e) => e.key !== 's2'));
  const r = index.search({ q: 'frontend' }).suggestions;
  assert.equal(r[0]?.live, false);
  assert.equal(r[0]?.gone, 'removed');
});

test('list() pages through one kind in name order with a cursor', () => {
  const index = new AutocompleteIndex();
  const pods: EntityInput[] = [];
  for (let i = 0; i < 25; i++) pods.push({ kind: 'pod', key: `p${i}`, name: `web-${String(i).padStart(2, '0')}`, namespace: i % 2 ? 'a' : 'b' });
  pods.push({ kind: 'pod', key: 'dup', name: 'web-03', namespace: 'b' });
  index.replace('c', pods);
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = index.list('pod', { limit: 10, ...(after ? { after } : {}) });
    seen.push(...page.items.map((p) => `${p.name}/${p.namespace}`));
    after = page.next;
    if (!after) break;
  }
  assert.equal(seen.length, 26);
  assert.deepEqual(seen.slice(2, 5), ['web-02/b', 'web-03/a', 'web-03/b']);
  assert.equal(index.list('pod', { namespace: 'a', limit: 100 }).items.length, 12);
  assert.throws(() => index.list('pod', { after: 'garbage' }), (err: Error & { code?: string }) => err.code === 'CONSOLE_BAD_REQUEST');
});

test('searches see changes as soon as they are fed, also past the pending-merge threshold', () => {
  const index = new AutocompleteIndex();
  for (let i = 0; i < 1_000; i++) {
    index.upsert('c', { kind: 'pod', key: `p${i}`, name: `api-${i}`, namespace: 'n' });
    if (i % 97 === 0) assert.equal(index.search({ q: `api-${i}` }).suggestions[0]?.key, `p${i}`);
  }
  assert.equal(index.search({ q: 'pod:api-99', limit: 100 }).suggestions.filter((s) => s.match !== 'fuzzy').length, 11);
  assert.equal(index.search({ q: '-99' , limit: 100 }).suggestions.length, 11, 'substring');
});
