import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { waitFor } from '../../src/core/index.ts';
import { startSimApiServer, type SimApiServer } from '../../src/sim/http/api-server.ts';
import { ClusterModel } from '../../src/sim/model/cluster-model.ts';
import { writeKubeconfig } from '../../src/sim/http/kubeconfig.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { deployment, pod, populate } from '../fixtures/sim-objects.ts';

for (const https of [false, true]) {
  describe(`@kubernetes/client-node 1.x against the sim over ${https ? 'HTTPS (generated CA)' : 'HTTP'}`, () => {
    let model: ClusterModel;
    let sim: SimApiServer;
    let dir: { path: string; remove: () => Promise<void> };
    let kc: KubeConfig;
    const aborts: AbortController[] = [];

    before(async () => {
      model = new ClusterModel();
      populate(model, { nodes: 2, pods: 25 });
      model.create(deployment('web', 3));
      model.create(deployment('api', 1, 'team-a'));
      sim = await startSimApiServer(model, { https });
      dir = await makeTempDir('sim-client-node');
      const path = join(dir.path, 'kubeconfig');
      await writeKubeconfig(path, { server: sim.url, caPem: sim.tls?.caPem });
      kc = new KubeConfig();
      kc.loadFromFile(path);
    });

    after(async () => {
      for (const a of aborts) a.abort();
      await sim.close();
      await dir.remove();
    });

    it('loads the written kubeconfig', () => {
      assert.equal(kc.getCurrentContext(), 'kubemeta-sim');
      assert.equal(kc.getCurrentCluster()?.server, sim.url);
      assert.equal(sim.url.startsWith('https://'), https);
    });

    it('lists pods with limit and continue', async () => {
      const core = kc.makeApiClient(CoreV1Api);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await core.listPodForAllNamespaces({ limit: 10, _continue: token });
        pages++;
        seen.push(...page.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
        token = page.metadata?._continue;
      } while (token);
      assert.equal(pages, 3);
      assert.equal(seen.length, 25);
      assert.equal(new Set(seen).size, 25);
      const nodes = await core.listNode();
      assert.deepEqual(nodes.items.map((n) => n.metadata?.name), ['node-0', 'node-1']);
    });

    it('lists deployments with AppsV1Api', async () => {
      const apps = kc.makeApiClient(AppsV1Api);
      const all = await apps.listDeploymentForAllNamespaces();
      assert.deepEqual(all.items.map((d) => d.metadata?.name).sort(), ['api', 'web']);
      const one = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
      assert.equal(one.spec?.replicas, 3);
    });

    it('receives ADDED, MODIFIED and DELETED through Watch', async () => {
      const events: Array<{ type: string; name: string | undefined }> = [];
      let done: unknown = 'open';
      const rv = String(model.resourceVersion);
      const abort = await new Watch(kc).watch(
        '/api/v1/namespaces/default/pods',
        { resourceVersion: rv, allowWatchBookmarks: true },
        (type, obj: { metadata?: { name?: string } }) => events.push({ type, name: obj.metadata?.name }),
        (err) => {
          done = err ?? 'ended';
        },
      );
      aborts.push(abort);
      await waitFor(() => sim.openWatches === 1, { what: 'the watch to open' });
      const created = model.create(pod('watched', { namespace: 'default', phase: 'Pending' }));
      model.update({ ...created.object, status: { phase: 'Running' } });
      model.delete('Pod', 'default', 'watched');
      await waitFor(() => events.filter((e) => e.name === 'watched').length === 3, { what: 'three events for the pod' });
      assert.deepEqual(events.filter((e) => e.name === 'watched').map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.equal(done, 'open');
      abort.abort();
    });
  });
}
