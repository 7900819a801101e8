import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/index.ts';
import { ClusterModel } from './cluster-model.ts';
import { createDiscovery } from '../http/discovery.ts';
import { openApiResponse } from '../http/openapi.ts';
import { RESOURCES, resourceByKind } from './resources.ts';
import { parseResourcePath } from '../http/routing.ts';
import { ScenarioEngine } from '../scenario/scenario.ts';
import { STORED_ONLY_RESOURCES } from './stored-kinds.ts';
import { tableRowJson } from '../http/table.ts';

const START = Date.parse('2025-03-01T12:00:00Z');
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

test('every stored-only kind is one of RESOURCES, with no kind served twice', () => {
  for (const r of STORED_ONLY_RESOURCES) assert.equal(resourceByKind(r.kind), r, r.kind);
  const kinds = RESOURCES.map((r) => r.kind);
  assert.equal(new Set(kinds).size, kinds.length);
  const paths = RESOURCES.map((r) => `${r.group}/${r.plural}`);
  assert.equal(new Set(paths).size, paths.length);
});

test('discovery lists them in the legacy and the aggregated form, outside `kubectl get all`', () => {
  const discovery = createDiscovery();
  const core = JSON.parse(discovery.respond('/api/v1', undefined, '127.0.0.1:1')?.body ?? 'null') as { resources: Array<{ name: string; kind: string; namespaced: boolean; categories?: string[] }> };
  const sa = core.resources.find((r) => r.name === 'serviceaccounts');
  assert.deepEqual(sa && { kind: sa.kind, namespaced: sa.namespaced, categories: sa.categories }, { kind: 'ServiceAccount', namespaced: true, categories: undefined });
  assert.ok(core.resources.some((r) => r.name === 'persistentvolumeclaims/status'));

  const groups = JSON.parse(discovery.respond('/apis', undefined, '')?.body ?? 'null') as { groups: Array<{ name: string }> };
  assert.ok(groups.groups.some((g) => g.name === 'rbac.authorization.k8s.io'));
  const rbac = JSON.parse(discovery.respond('/apis/rbac.authorization.k8s.io/v1', undefined, '')?.body ?? 'null') as { resources: Array<{ name: string; namespaced: boolean }> };
  assert.deepEqual(
    rbac.resources.map((r) => [r.name, r.namespaced]),
    [['roles', true], ['rolebindings', true], ['clusterroles', false], ['clusterrolebindings', false]],
  );

  const aggregated = discovery.respond('/apis', AGGREGATED, '');
  assert.equal(aggregated?.contentType, AGGREGATED);
  const items = (JSON.parse(aggregated.body) as { items: Array<{ metadata: { name?: string }; versions: Array<{ resources: Array<{ resource: string; scope: string }> }> }> }).items;
  const rbacItem = items.find((i) => i.metadata.name === 'rbac.authorization.k8s.io');
  assert.deepEqual(rbacItem?.versions[0]?.resources.find((r) => r.resource === 'clusterroles')?.scope, 'Cluster');
});

test('routing and the OpenAPI stubs kubectl validates against cover them', () => {
  const route = parseResourcePath('/apis/rbac.authorization.k8s.io/v1/namespaces/kubemeta/roles/leader');
  assert.deepEqual(route && { kind: route.info.kind, namespace: route.namespace, name: route.name }, { kind: 'Role', namespace: 'kubemeta', name: 'leader' });
  const cluster = parseResourcePath('/apis/rbac.authorization.k8s.io/v1/clusterroles/reader');
  assert.deepEqual(cluster && { kind: cluster.info.kind, namespace: cluster.namespace, name: cluster.name }, { kind: 'ClusterRole', namespace: undefined, name: 'reader' });
  assert.equal(parseResourcePath('/api/v1/namespaces/x/serviceaccounts/a/status'), undefined, 'no status subresource on ServiceAccounts');

  const root = JSON.parse(String(openApiResponse('/openapi/v3', undefined)?.body)) as { paths: Record<string, unknown> };
  assert.ok('apis/rbac.authorization.k8s.io/v1' in root.paths);
  const doc = JSON.parse(String(openApiResponse('/openapi/v3/apis/rbac.authorization.k8s.io/v1', undefined)?.body)) as { paths: Record<string, { patch: { 'x-kubernetes-group-version-kind': unknown } }> };
  assert.deepEqual(doc.paths['/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}']?.patch['x-kubernetes-group-version-kind'], { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' });
});

test('the model creates, updates, lists and deletes them, namespaced and cluster-scoped', () => {
  const model = new ClusterModel({ clock: new ManualClock(START) });
  model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubemeta' } });
  const sa = model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kubemeta', namespace: 'kubemeta' } });
  assert.equal(sa.object.metadata.namespace, 'kubemeta');
  const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }];
  const role = model.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kubemeta-reader', namespace: 'ignored' }, rules });
  assert.equal(role.object.metadata.namespace, undefined, 'cluster-scoped: no namespace');
  assert.deepEqual(role.object['rules'], rules);
  assert.throws(() => model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'missing' } }), /namespaces "missing" not found/);
  assert.throws(() => model.create({ apiVersion: 'v1', kind: 'ClusterRole', metadata: { name: 'x' } }), /apiVersion "rbac.authorization.k8s.io\/v1"/);

  const updated = model.update({ ...role.object, rules: [...rules, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] }] });
  assert.ok(updated.rv > role.rv);
  assert.deepEqual(model.list('ClusterRole').items.map((s) => s.object.metadata.name), ['kubemeta-reader']);
  assert.deepEqual(model.list('ServiceAccount', { namespace: 'kubemeta' }).items.map((s) => s.object.metadata.name), ['kubemeta']);
  assert.match(tableRowJson(updated, 'None', 'v1', START), /^\{"cells":\["kubemeta-reader","0s"\]\}$/);

  model.delete('ClusterRole', undefined, 'kubemeta-reader');
  assert.equal(model.get('ClusterRole', undefined, 'kubemeta-reader'), undefined);
  const events = model.eventsSince('ClusterRole', 0);
  assert.deepEqual(events === 'expired' ? events : events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
});

test('deleting their namespace deletes them (the namespace controller knows every kind)', () => {
  const e = new ScenarioEngine({ seed: 3, nodes: 2, namespaces: 1, podsPerNode: 4, clock: new ManualClock(START) });
  e.populate();
  e.model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
  e.model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', namespace: 'doomed' } });
  e.model.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'doomed' }, data: { k: 'v' } });
  e.model.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'doomed' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [] });
  e.model.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'stays' }, rules: [] });
  e.controllers.start();
  try {
    e.model.delete('Namespace', undefined, 'doomed');
    e.controllers.reconcileNow();
    for (const kind of ['ServiceAccount', 'ConfigMap', 'RoleBinding']) assert.equal(e.model.list(kind, { namespace: 'doomed' }).items.length, 0, kind);
    assert.ok(e.model.get('ClusterRole', undefined, 'stays'));
  } finally {
    e.controllers.close();
  }
});
