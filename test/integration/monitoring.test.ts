// deploy/monitoring (issue 16, part 4): the alert rules pass `promtool check rules` (Debian's
// prometheus package; scripts/setup.sh installs it, and this test fails with that advice when it
// is missing, as the other tests do for nats-server or etcd), every metric the rules and the
// Grafana dashboard name exists in a running kubemeta serve's /metrics, and the kustomize
// component renders with the labels kube-prometheus users expect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { MetadataService } from '../../src/service/index.ts';
import { makeTempDir } from '../../src/testing/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const dir = join(repo, 'deploy/monitoring');

interface Rule { alert?: string; record?: string; expr: string }
const ruleSpec = async (): Promise<{ groups: Array<{ rules: Rule[] }> }> =>
  (parseYaml(await readFile(join(dir, 'prometheus-rule.yaml'), 'utf8')) as { spec: { groups: Array<{ rules: Rule[] }> } }).spec;

/** Every PromQL expression of the dashboard's panels. */
async function dashboardExprs(): Promise<string[]> {
  const d = JSON.parse(await readFile(join(dir, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }>; templating: { list: Array<{ query?: unknown }> } };
  return [...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...d.templating.list.map((v) => (typeof v.query === 'string' ? v.query : ''))];
}

/** kubemeta metric names in PromQL; a histogram's series name its base metric. */
function metricNames(exprs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\bkubemeta_[a-z0-9_]+/g)) out.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return out;
}

async function promtool(): Promise<string> {
  const path = '/usr/bin/promtool';
  try {
    await access(path);
  } catch {
    assert.fail(`promtool is missing: install Debian's prometheus package (apt-get install prometheus; scripts/setup.sh does)`);
  }
  return path;
}

describe('deploy/monitoring', () => {
  test('the alert rules pass promtool check rules and cover kubemeta\'s failure modes', async () => {
    const tool = await promtool();
    const tmp = await makeTempDir('rules');
    try {
      const file = join(tmp.path, 'kubemeta.rules.yaml');
      await writeFile(file, stringify(await ruleSpec()));
      const { stdout } = await run(tool, ['check', 'rules', file]);
      assert.match(stdout, /SUCCESS: \d+ rules found/);
      // A broken rule must fail the same check (the check can fail).
      await writeFile(file, stringify({ groups: [{ name: 'x', rules: [{ alert: 'Broken', expr: 'rate(kubemeta_ready[5m' }] }] }));
      await assert.rejects(run(tool, ['check', 'rules', file]));
    } finally {
      await tmp.remove();
    }
    const alerts = (await ruleSpec()).groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const a of ['KubemetaNotReady', 'KubemetaWatchRestarts', 'KubemetaRelistStorm', 'KubemetaPublishLag', 'KubemetaCommitLatency', 'KubemetaReplayBusy', 'KubemetaStoreNearFull', 'KubemetaNodeScopesRefused', 'KubemetaLeaderChanges']) {
      assert.ok(alerts.includes(a), `an alert ${a}`);
    }
  });

  test('the component renders a ServiceMonitor for the Service kubemeta only, the rules and the dashboard ConfigMap', async () => {
    const tmp = await makeTempDir('overlay');
    try {
      await writeFile(join(tmp.path, 'kustomization.yaml'), stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(tmp.path, join(repo, 'deploy'))], components: [relative(tmp.path, dir)],
      }));
      const { stdout } = await run('/usr/bin/kubectl', ['kustomize', tmp.path], { maxBuffer: 32 * 1024 * 1024 });
      const objects = parseAllDocuments(stdout).map((d) => d.toJSON() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: unknown });
      const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
      const sm = find('ServiceMonitor', 'kubemeta') as { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } } | undefined;
      assert.ok(sm, 'a ServiceMonitor');
      assert.ok(find('PrometheusRule', 'kubemeta'), 'a PrometheusRule');
      assert.equal(find('ConfigMap', 'kubemeta-grafana-dashboard')?.metadata.labels?.['grafana_dashboard'], '1');
      const selects = (name: string): boolean => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => find('Service', name)?.metadata.labels?.[k] === v);
      assert.equal(selects('kubemeta'), true, 'the Service kubemeta is scraped');
      assert.equal(selects('kubemeta-headless'), false, 'the headless Service is not scraped twice');
      const service = find('Service', 'kubemeta') as { spec: { ports: Array<{ name: string }> } } | undefined;
      assert.ok(service?.spec.ports.some((p) => p.name === sm.spec.endpoints[0]?.port), 'the endpoint port is a port of the Service');
      assert.equal(sm.spec.endpoints[0]?.path, '/metrics');
    } finally {
      await tmp.remove();
    }
  });

  describe('against a running kubemeta serve', () => {
    let env: ServeEnv;
    let service: MetadataService;
    let exposed: Set<string>;

    before(async () => {
      env = await startServeEnv({ seed: 4, nodes: 2, podsPerNode: 4, namespaces: 1 });
      service = await MetadataService.start(env.serveConfig());
      await service.whenReady(AbortSignal.timeout(30_000));
      const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
      exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
    });

    after(async () => {
      await service?.drain();
      await env?.stop();
    });

    test('every metric the rules name exists in /metrics', async () => {
      const named = metricNames((await ruleSpec()).groups.flatMap((g) => g.rules.map((r) => r.expr)));
      assert.ok(named.size >= 10, `the rules name kubemeta metrics: ${[...named].join(', ')}`);
      assert.deepEqual([...named].filter((m) => !exposed.has(m)), [], 'metrics the rules use but serve does not export');
    });

    test('every metric the dashboard names exists in /metrics', async () => {
      const named = metricNames(await dashboardExprs());
      assert.ok(named.size >= 15, `the dashboard shows kubemeta metrics: ${[...named].join(', ')}`);
      assert.deepEqual([...named].filter((m) => !exposed.has(m)), [], 'metrics the dashboard uses but serve does not export');
    });

    test('the metrics added for the alerts carry values: the store\'s free space, the leader', async () => {
      const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
      const free = Number(/^kubemeta_store_available_bytes\{backend="lmdb"\} (\S+)$/m.exec(text)?.[1]);
      assert.ok(free > 0, 'free bytes on the store\'s filesystem');
      assert.match(text, /^kubemeta_leader 1$/m, 'a single replica without --leader-elect is the writer');
      assert.match(text, /^kubemeta_leader_term 0$/m);
    });
  });
});
