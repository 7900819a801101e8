// The web console in a real browser (Debian's chromium driven by playwright-core), against the
// whole local system: the simulator, a real nats-server, and `kubemeta serve --console` as a
// user runs it. Types in the search box and picks a suggestion with the keyboard, checks a
// pod's page (containers, node, owner chain, namespace, labels), watches the status panel's
// head version move while the simulator churns, opens the cluster page (header link, search,
// status panel) with its nodes, namespaces, counts and network ranges, runs queries from the
// query box against `kubemeta agents` (table, bar chart, the `(no service)` group), and the
// token prompt of a protected console.
// Every page must run without a console error or an uncaught exception.
//
// KUBEMETA_SCREENSHOT=docs/console.png also saves a screenshot of a pod page with the status
// chart (docs/console.md shows it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from '../../src/core/index.ts';
import { startConsoleServer, type ConsoleServer } from '../../src/console/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TOKEN = 'browser-token-0123456789abcdef';
const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;
const screenshotPath = process.env['KUBEMETA_SCREENSHOT'];

interface SimPod {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; uid: string }> };
  spec: { nodeName?: string; containers: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
}

interface SimService {
  metadata: { name: string; namespace: string };
  spec: { selector?: Record<string, string> };
}

/** GET /api/cluster's network-ranges section (cluster-view.ts), as the page must show it. */
type RangesAnswer = { available: false; reason: string } | { available: true; groups: Array<{ name: string; cidrs: string[] }> };

/** A page whose console errors and uncaught exceptions are collected; `allowed` matches expected ones. */
async function openPage(browser: Browser, allowed: RegExp[] = []): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed.some((re) => re.test(msg.text()))) errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { page, errors };
}

if (!existsSync(CHROMIUM)) {
  const advice = `${CHROMIUM} is missing: install it with "apt-get install -y chromium" (scripts/setup.sh does)`;
  if (process.env['CI'] === 'true') test('the browser test needs chromium', () => assert.fail(advice));
  else test('web console in a browser', { skip: advice }, () => undefined);
} else {
  describe('web console in chromium against kubemeta serve --console and the simulator', () => {
    let env: ServeEnv;
    let serve: SpawnedProcess;
    let base: string;
    let browser: Browser;
    let client: ClusterClient | undefined;
    let agents: SpawnedProcess | undefined;
    let secured: ConsoleServer | undefined;
    let target: SimPod;
    let replicaSet: string;
    let deployment: string;

    /** The status POST /api/query answers with (404: no query broker; 504: no agent answered). */
    const queryRouteStatus = async (): Promise<number> => {
      const res = await fetch(`${base}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'count requests', cluster: 'test' }) });
      await res.body?.cancel();
      return res.status;
    };

    before(async () => {
      env = await startServeEnv({ seed: 6, nodes: 4, podsPerNode: 8, namespaces: 2 });
      const port = await freePort();
      serve = spawnProcess(process.execPath, [bin, 'serve', ...env.serveArgs({ http: `127.0.0.1:${port}` }), '--console']);
      base = `http://127.0.0.1:${port}`;
      await waitFor(async () => {
        if (serve.child.exitCode !== null) throw new Error(`kubemeta serve exited:\n${serve.output()}`);
        const res = await fetch(`${base}/api/status`).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { clusters: Array<{ inSync: boolean; indexedEntities: number }> }) : undefined;
        return body?.clusters[0]?.inSync === true && body.clusters[0].indexedEntities > 0;
      }, { what: 'kubemeta serve --console in sync', timeoutMs: 60_000, intervalMs: 200 });
      // A pod of a Deployment (owner chain ReplicaSet → Deployment) with its containers and node.
      const pods = env.engine.model.list('Pod').items.map((s) => s.object as unknown as SimPod);
      const replicaSets = new Map(env.engine.model.list('ReplicaSet').items.map((s) => [s.object.metadata.uid, s.object as unknown as SimPod]));
      const found = pods.find((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet' && p.spec.nodeName);
      assert.ok(found, 'the scenario has a pod owned by a ReplicaSet');
      target = found;
      const rs = replicaSets.get(found.metadata.ownerReferences?.[0]?.uid ?? '');
      replicaSet = rs?.metadata.name ?? '';
      deployment = rs?.metadata.ownerReferences?.[0]?.name ?? '';
      assert.ok(replicaSet !== '' && deployment !== '', 'the ReplicaSet has a Deployment');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });

    after(async () => {
      await browser?.close(); // first: the pages would log errors when the servers go away
      await env?.engine.stopChurn();
      await secured?.close();
      await client?.close();
      await agents?.stop(10_000);
      await serve?.stop(10_000);
      await env?.stop();
    });

    test('search suggests sim objects; the keyboard picks one; the pod page shows containers, node, owners', async () => {
      const { page, errors } = await openPage(browser);
      await page.goto(`${base}/`);
      const search = page.getByRole('combobox', { name: 'Search entities' });
      const listbox = page.getByRole('listbox', { name: 'Search suggestions' });
      const name = target.metadata.name;

      await search.click();
      await search.pressSequentially(name.slice(0, 5), { delay: 20 });
      await listbox.waitFor({ state: 'visible' });
      await waitFor(async () => (await listbox.getByRole('option').count()) > 1, { what: 'several suggestions', timeoutMs: 5_000 });
      assert.equal(await search.getAttribute('aria-expanded'), 'true');
      assert.ok((await listbox.locator('mark').count()) > 0, 'matched characters are highlighted');
      assert.ok((await listbox.getByRole('option').first().innerText()).includes('test'), 'each suggestion names its cluster');

      await search.fill(name);
      await waitFor(async () => (await listbox.getByRole('option').first().innerText()).includes(name), { what: 'the pod first', timeoutMs: 5_000 });
      await search.press('ArrowDown');
      const active = await search.getAttribute('aria-activedescendant');
      assert.ok(active, 'ArrowDown makes an option active');
      assert.equal(await page.locator(`#${active}`).getAttribute('aria-selected'), 'true');
      assert.match(await page.locator(`#${active}`).innerText(), /pod/i);
      await search.press('ArrowDown');
      await search.press('ArrowUp');
      assert.equal(await search.getAttribute('aria-activedescendant'), active, 'ArrowUp goes back');
      await search.press('Enter');
      await page.waitForURL(`**/#/entity/test/pod/${target.metadata.uid}`);
      assert.equal(await search.getAttribute('aria-expanded'), 'false', 'picking closes the listbox');

      const heading = page.getByRole('heading', { level: 1 });
      await heading.filter({ hasText: name }).waitFor();
      const containers = page.locator('section[data-relation=containers] tbody tr');
      const names = [...(target.spec.initContainers ?? []), ...target.spec.containers].map((c) => c.name);
      await waitFor(async () => (await containers.count()) === names.length, { what: `${names.length} containers listed`, timeoutMs: 5_000 });
      const containerText = await page.locator('section[data-relation=containers]').innerText();
      for (const c of names) assert.ok(containerText.includes(c), `container ${c}`);
      const details = await page.locator('section[data-relation=fields]').innerText();
      assert.ok(details.includes(target.spec.nodeName as string), 'the node');
      assert.ok(details.includes(target.metadata.namespace), 'the namespace');
      const owners = page.locator('section[data-relation=owners] li');
      assert.deepEqual((await owners.allTextContents()).map((t) => t.replace(/^→/, '')), [`ReplicaSet ${target.metadata.namespace}/${replicaSet}`, `Deployment ${target.metadata.namespace}/${deployment}`]);
      for (const [k, v] of Object.entries(target.metadata.labels ?? {})) {
        assert.ok((await page.locator('section[data-relation=labels]').innerText()).includes(`${k}=${v}`), `label ${k}`);
      }

      // The owner link leads to the Deployment, which lists the pod.
      await owners.nth(1).getByRole('link').click();
      await heading.filter({ hasText: deployment }).waitFor();
      assert.ok((await page.locator('section[data-relation=pods]').innerText()).includes(name));
      // Escape closes the listbox, a second one clears the box.
      await search.fill(name.slice(0, 4));
      await listbox.waitFor({ state: 'visible' });
      await search.press('Escape');
      await listbox.waitFor({ state: 'hidden' });
      await search.press('Escape');
      assert.equal(await search.inputValue(), '');
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('the status panel follows the head version live while the simulator churns, with a rate chart', async () => {
      const { page, errors } = await openPage(browser);
      await page.goto(`${base}/#/entity/test/pod/${target.metadata.uid}`);
      const card = page.locator('article.cluster-card[data-cluster=test]');
      await card.waitFor();
      const headOf = async (): Promise<number> => Number((await card.locator('dd.head').innerText()).replace(/\D/g, ''));
      const first = await headOf();
      assert.ok(first > 0);
      assert.match(await card.innerText(), /connected/);
      assert.match(await card.locator('dd.watches').innerText(), /^\d+\/\d+/, 'the API watches of the service');
      // Churn that keeps the target pod alive (labels, restarts), so that the screenshot shows it live.
      env.engine.startChurn({ ratePerSecond: 30, mix: { podLabel: 3, podRestart: 2, serviceSelector: 1 } });
      await waitFor(async () => (await headOf()) > first, { what: 'the head version shown to move', timeoutMs: 15_000, intervalMs: 100 });
      await waitFor(async () => (await card.locator('svg.chart polyline').count()) === 1, { what: 'the update-rate chart drawn', timeoutMs: 15_000, intervalMs: 200 });
      await waitFor(async () => !/^0 updates/.test(await card.locator('.rate').innerText()), { what: 'a non-zero update rate shown', timeoutMs: 10_000, intervalMs: 200 });
      if (screenshotPath) {
        await page.waitForTimeout(45_000); // most of the chart's two minutes filled
        await page.screenshot({ path: screenshotPath, fullPage: false });
      }
      await env.engine.stopChurn();
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('the cluster page: reached from the header, the search box and the status panel; nodes, namespaces, counts, network ranges', async () => {
      const { page, errors } = await openPage(browser);
      await page.goto(`${base}/#/`);
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Cluster' }).click();
      await page.waitForURL('**/#/cluster');
      const heading = page.getByRole('heading', { level: 1 });
      await heading.filter({ hasText: 'test' }).waitFor();
      assert.equal(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Cluster' }).getAttribute('aria-current'), 'page');

      const simNodes = env.engine.model.list('Node').items.map((s) => s.object.metadata.name).sort();
      const nodeRows = page.locator('section[data-section=nodes] tbody tr');
      await waitFor(async () => (await nodeRows.count()) === simNodes.length, { what: `${simNodes.length} nodes listed`, timeoutMs: 5_000 });
      assert.deepEqual((await nodeRows.locator('td:first-child').allInnerTexts()).map((t) => t.trim()), simNodes, 'every node, in name order');
      const targetNode = nodeRows.filter({ hasText: target.spec.nodeName as string });
      assert.match(await targetNode.innerText(), /ready/);
      const onNode = env.engine.model.list('Pod').items.filter((s) => (s.object as unknown as SimPod).spec.nodeName === target.spec.nodeName).length;
      assert.equal(Number(await targetNode.locator('td.num').innerText()), onNode, 'the node’s pods');
      assert.equal(await page.locator('section[data-section=counts] [data-kind=node] dd').innerText(), String(simNodes.length));
      assert.equal(await page.locator('section[data-section=counts] [data-kind=pod] dd').innerText(), String(env.engine.model.list('Pod').items.length));
      assert.ok((await page.locator('section[data-section=namespaces]').innerText()).includes(target.metadata.namespace), 'the namespaces');

      // Network ranges: "not available" while the SDK has no networkRanges(), the CIDRs once it has.
      const api = (await (await fetch(`${base}/api/cluster`)).json()) as { networkRanges: RangesAnswer };
      const ranges = page.locator('section[data-section=network-ranges]');
      const shown = await ranges.innerText();
      if (!api.networkRanges.available) assert.match(shown, /Not available/);
      else if (api.networkRanges.groups.length === 0) assert.match(shown, /None known yet/);
      else for (const cidr of api.networkRanges.groups.flatMap((g) => g.cidrs)) assert.ok(shown.includes(cidr), `range ${cidr} shown`);

      // A node's link leads to its page.
      await targetNode.getByRole('link').click();
      await heading.filter({ hasText: target.spec.nodeName as string }).waitFor();

      // The search box offers the cluster (`cluster:` lists them all) and opens its page.
      const search = page.getByRole('combobox', { name: 'Search entities' });
      await search.fill('cluster:');
      const option = page.getByRole('listbox', { name: 'Search suggestions' }).getByRole('option').first();
      await waitFor(async () => /cluster\s*test/i.test(await option.innerText().catch(() => '')), { what: 'the cluster offered', timeoutMs: 5_000 });
      await search.press('ArrowDown');
      await search.press('Enter');
      await page.waitForURL('**/#/cluster/test');
      await page.locator('section[data-section=nodes]').waitFor();

      // So does the cluster's name in the status panel.
      await page.goto(`${base}/#/`);
      await page.locator('article.cluster-card[data-cluster=test] h3 a').click();
      await page.waitForURL('**/#/cluster/test');
      await page.locator('section[data-section=counts]').waitFor();
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('the query box completes keywords and entity names from the cluster', async () => {
      const { page, errors } = await openPage(browser);
      await page.goto(`${base}/#/`);
      const input = page.getByRole('combobox', { name: 'Query' });
      const listbox = page.getByRole('listbox', { name: 'Query suggestions' });
      await input.click();
      await input.pressSequentially('p9', { delay: 20 });
      const offered = async (): Promise<string[]> => (await listbox.getByRole('option').allTextContents()).map((t) => t.replace(/^keyword/, ''));
      await waitFor(async () => (await offered()).join() === 'p90,p99', { what: 'p90 and p99 offered', timeoutMs: 5_000 });
      await input.press('ArrowDown');
      await input.press('ArrowDown');
      await input.press('Enter');
      assert.equal(await input.inputValue(), 'p99 ');
      await input.pressSequentially('lat', { delay: 20 });
      await waitFor(async () => (await offered()).join() === 'latency', { what: 'latency offered', timeoutMs: 5_000 });
      await input.press('ArrowDown');
      await input.press('Enter');
      await input.pressSequentially('in namespace ', { delay: 20 });
      const ns = target.metadata.namespace;
      await input.pressSequentially(ns.slice(0, 2), { delay: 20 });
      await waitFor(async () => (await listbox.getByRole('option').allInnerTexts()).some((t) => t.includes(ns)), { what: `namespace ${ns} offered`, timeoutMs: 5_000 });
      // The suggestions may still be re-ranked while the cluster's state arrives (a namespace
      // with no pod yet sorts like any other): move down until the highlighted option is the
      // namespace, instead of counting positions in a list read earlier.
      const highlighted = async (): Promise<string> => (await listbox.locator('[role="option"][aria-selected="true"]').allInnerTexts()).join();
      for (let i = 0; i < 50 && !(await highlighted()).includes(ns); i++) await input.press('ArrowDown');
      assert.ok((await highlighted()).includes(ns), `namespace ${ns} highlighted`);
      await input.press('Enter');
      assert.equal(await input.inputValue(), `p99 latency in namespace ${ns} `);

      assert.deepEqual(errors, []);
      await page.close();
    });

    test('the query box runs a query and shows the table and how many agents were asked', async () => {
      // Before any agent runs the broker answers 504 (nobody answered), never 404 (no broker).
      assert.notEqual(await queryRouteStatus(), 404, 'serve --console has the query broker (POST /api/query)');
      // Simulated node agents with synthetic telemetry answer the broker's queries.
      agents = spawnProcess(process.execPath, [bin, 'agents', '--nats', env.nats.url, '--cluster', 'test', '--rate', '50', '--log-level', 'warn']);
      await waitFor(async () => {
        if (agents?.child.exitCode !== null) throw new Error(`kubemeta agents exited:\n${agents?.output() ?? ''}`);
        const res = await fetch(`${base}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'count requests by namespace', cluster: 'test' }) });
        const body = (await res.json()) as { agentsAnswered?: number; rows?: unknown[] };
        return res.ok && (body.agentsAnswered ?? 0) > 0 && (body.rows?.length ?? 0) > 0;
      }, { what: 'the node agents answering queries with rows', timeoutMs: 60_000, intervalMs: 500 });
      const { page, errors } = await openPage(browser);
      await page.goto(`${base}/#/`);
      const input = page.getByRole('combobox', { name: 'Query' });
      await input.fill('count requests by namespace');
      await page.getByRole('button', { name: 'Run' }).click();
      const note = page.locator('#query-note');
      await waitFor(async () => !/^Running/.test(await note.innerText()) && (await note.innerText()) !== '', { what: 'the query answered', timeoutMs: 20_000, intervalMs: 100 });
      const text = await note.innerText();
      assert.match(text, /Asked \d+ of \d+ agents \(\d+ answered\)/, text);
      assert.ok((await page.locator('#query-result table th').count()) > 0, 'a result table');
      const rows = await page.locator('#query-result table tbody tr').count();
      assert.ok(rows > 0, 'with rows');
      assert.equal(await page.locator('#query-result svg.bar-chart g.row').count(), Math.min(rows, 25), 'a bar per row beside the table');

      // Pods of no Service (the scenario has some: Deployments without one, DaemonSets): their
      // telemetry is the `(no service)` group, named in the table and drawn in the chart.
      const services = env.engine.model.list('Service').items.map((s) => s.object as unknown as SimService);
      const inService = (p: SimPod): boolean => services.some((svc) => svc.metadata.namespace === p.metadata.namespace && svc.spec.selector !== undefined
        && Object.keys(svc.spec.selector).length > 0 && Object.entries(svc.spec.selector).every(([k, v]) => p.metadata.labels?.[k] === v));
      assert.ok(env.engine.model.list('Pod').items.some((s) => !inService(s.object as unknown as SimPod)), 'the scenario has pods in no service');
      await waitFor(async () => {
        const res = await fetch(`${base}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'p99 latency by service', cluster: 'test' }) });
        const body = (await res.json()) as { rows?: unknown[][] };
        assert.ok(!(body.rows ?? []).some((r) => r[0] === null || r[0] === ''), 'no unnamed group from the API');
        return (body.rows ?? []).some((r) => r[0] === '(no service)');
      }, { what: 'telemetry of pods in no service', timeoutMs: 30_000, intervalMs: 500 });
      await input.fill('p99 latency by service');
      await page.getByRole('button', { name: 'Run' }).click();
      const noService = page.locator('#query-result table tbody td.no-value', { hasText: '(no service)' });
      await noService.waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('#query-result svg.bar-chart g.row.no-value').count(), 1, 'the (no service) bar, marked');
      assert.match(await page.locator('#query-result svg.bar-chart').getAttribute('aria-label') ?? '', /^p99_latency_ms by service$/);
      const cells = await page.locator('#query-result table tbody tr td:first-child').allInnerTexts();
      assert.ok(cells.every((t) => t.trim() !== ''), 'no row without a name');
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('a protected console asks for the token, keeps it for the tab, and then works', async () => {
      client = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
      await client.whenInSync(AbortSignal.timeout(30_000));
      secured = await startConsoleServer({ clusters: [{ name: 'test', client }], token: TOKEN });
      // The browser reports the first, refused request as a failed resource load: expected here.
      const { page, errors } = await openPage(browser, [/status of 401/]);
      await page.goto(`${secured.url}/`);
      const prompt = page.getByRole('heading', { name: 'This console needs a token' });
      await prompt.waitFor();
      await page.getByLabel('Token', { exact: true }).fill(TOKEN);
      await page.getByRole('button', { name: 'Connect' }).click();
      await prompt.waitFor({ state: 'hidden' });
      await page.locator('article.cluster-card[data-cluster=test] dd.head').waitFor();
      assert.equal(await page.evaluate('sessionStorage.getItem("kubemeta-console-token")'), TOKEN);
      await page.reload();
      await page.locator('article.cluster-card[data-cluster=test] dd.head').waitFor();
      assert.equal(await prompt.isVisible(), false, 'no prompt once the tab has the token');
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
}
