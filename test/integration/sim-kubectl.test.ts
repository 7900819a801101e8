import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../../src/core/index.ts';
import { startSimApiServer, type SimApiServer } from '../../src/sim/http/api-server.ts';
import { ClusterModel } from '../../src/sim/model/cluster-model.ts';
import { writeKubeconfig } from '../../src/sim/http/kubeconfig.ts';
import { makeTempDir, spawnProcess, type SpawnedProcess } from '../../src/testing/processes.ts';
import { deployment, node, pod, populate, service } from '../fixtures/sim-objects.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const CURRENT_KUBECTL = '/usr/bin/kubectl';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The preinstalled kubectl; missing, the test fails saying how to get it. */
async function currentKubectl(): Promise<string> {
  try {
    await access(CURRENT_KUBECTL, constants.X_OK);
  } catch {
    throw new Error(
      `${CURRENT_KUBECTL} is missing: run scripts/setup.sh, and install kubectl 1.32 or newer (Debian packages only kubectl 1.20, which scripts/old-kubectl.sh extracts for the old-kubectl tests)`,
    );
  }
  return CURRENT_KUBECTL;
}

/** The old kubectl (1.20): from KUBEMETA_OLD_KUBECTL, or fetched by scripts/old-kubectl.sh. Failing to get it fails the test. */
async function oldKubectl(): Promise<string> {
  const fromEnv = process.env['KUBEMETA_OLD_KUBECTL'];
  const path = fromEnv && fromEnv !== '' ? fromEnv : (await run(join(repo, 'scripts/old-kubectl.sh'), { cwd: repo, timeout: 300_000 })).stdout.trim();
  await access(path, constants.X_OK);
  return path;
}

const versions: Array<{ label: string; binary: () => Promise<string>; minor: number }> = [
  { label: 'kubectl 1.32 (preinstalled)', binary: currentKubectl, minor: 32 },
  { label: 'kubectl 1.20 (Debian kubernetes-client, extracted)', binary: oldKubectl, minor: 20 },
];

describe('kubectl against the sim', () => {
  let model: ClusterModel;
  let sim: SimApiServer;
  let dir: { path: string; remove: () => Promise<void> };
  let kubeconfig: string;
  const spawned: SpawnedProcess[] = [];

  before(async () => {
    model = new ClusterModel();
    populate(model, { nodes: 3, pods: 8 });
    model.create(deployment('web', 2));
    model.create(service('web'));
    sim = await startSimApiServer(model);
    dir = await makeTempDir('sim-kubectl');
    kubeconfig = join(dir.path, 'kubeconfig');
    await writeKubeconfig(kubeconfig, { server: sim.url });
  });

  after(async () => {
    await Promise.all(spawned.map((p) => p.kill()));
    await sim.close();
    await dir.remove();
  });

  for (const version of versions) {
    describe(version.label, () => {
      let bin: string;
      const env = (): NodeJS.ProcessEnv => ({ ...process.env, HOME: join(dir.path, `home-${version.minor}`), KUBECACHEDIR: join(dir.path, `cache-${version.minor}`), KUBECONFIG: '' });
      const kubectlWithLog = async (...args: string[]): Promise<{ stdout: string; stderr: string }> => {
        try {
          return await run(bin, ['--kubeconfig', kubeconfig, ...args], { env: env(), timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
        } catch (err) {
          const e = err as { stderr?: string; message: string };
          throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
        }
      };
      const kubectl = async (...args: string[]): Promise<string> => (await kubectlWithLog(...args)).stdout;
      /** `kubectl get -o yaml` of one object, parsed. */
      const getYaml = async (...args: string[]): Promise<{ metadata: Record<string, unknown>; [field: string]: unknown }> =>
        parseYaml(await kubectl('get', ...args, '-o', 'yaml')) as { metadata: Record<string, unknown> };

      before(async () => {
        bin = await version.binary();
        const out = (await run(bin, ['version', '--client'], { env: env() })).stdout;
        assert.match(out, new RegExp(`v1\\.${version.minor}\\.`));
      });

      it('gets pods -A, nodes and deployments as tables', async () => {
        const pods = await kubectl('get', 'pods', '-A');
        assert.match(pods, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
        assert.match(pods, /team-a\s+pod-0001\s+1\/1\s+Running\s+0/);
        const nodes = await kubectl('get', 'nodes');
        assert.match(nodes, /node-2\s+Ready\s+worker\s+\S+\s+v1\.32\.0/);
        const deploys = await kubectl('get', 'deploy', '-A');
        assert.match(deploys, /default\s+web\s+2\/\d+\s+2\s+2/);
        const wide = await kubectl('get', 'pods', '-n', 'default', '-o', 'wide');
        assert.match(wide, /pod-0000\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.0\.1\s+node-0/);
      });

      it('gets objects as JSON and YAML, and raw paths', async () => {
        const json = JSON.parse(await kubectl('get', 'pod', 'pod-0000', '-n', 'default', '-o', 'json')) as { metadata: { uid: string } };
        assert.equal(json.metadata.uid, model.get('Pod', 'default', 'pod-0000')?.object.metadata.uid);
        assert.match(await kubectl('get', 'svc', 'web', '-o', 'yaml'), /clusterIP: 10\.96\.0\.10/);
        const raw = JSON.parse(await kubectl('get', '--raw', '/api/v1/pods?limit=1')) as { items: unknown[]; metadata: { continue?: string } };
        assert.equal(raw.items.length, 1);
        assert.ok(raw.metadata.continue);
      });

      it('creates from a file, labels, scales and deletes', async () => {
        const name = `created-${version.minor}`;
        const file = join(dir.path, `${name}.json`);
        await writeFile(file, JSON.stringify(pod(name, { namespace: 'default' })));
        assert.match(await kubectl('create', '-f', file), new RegExp(`pod/${name} created`));
        assert.ok(model.get('Pod', 'default', name));
        await kubectl('label', 'pod', name, 'checked=yes');
        assert.equal(model.get('Pod', 'default', name)?.object.metadata.labels?.['checked'], 'yes');
        assert.match(await kubectl('get', 'pods', '-l', 'checked=yes'), new RegExp(name));
        await kubectl('scale', 'deployment', 'web', `--replicas=${version.minor}`);
        assert.equal((model.get('Deployment', 'default', 'web')?.object['spec'] as { replicas: number }).replicas, version.minor);
        assert.match(await kubectl('delete', 'pod', name), new RegExp(`pod "${name}" deleted`));
        assert.equal(model.get('Pod', 'default', name), undefined);
      });

      it('applies a manifest twice (create, then strategic merge patch)', async () => {
        const name = `applied-${version.minor}`;
        const file = join(dir.path, `${name}.json`);
        const d = deployment(name, 1);
        await writeFile(file, JSON.stringify({ ...d, status: undefined }));
        assert.match(await kubectl('apply', '-f', file), /created/);
        (d['spec'] as { replicas: number }).replicas = 3;
        await writeFile(file, JSON.stringify({ ...d, status: undefined }));
        assert.match(await kubectl('apply', '-f', file), /configured/);
        const stored = model.get('Deployment', 'default', name)?.object;
        assert.equal((stored?.['spec'] as { replicas: number }).replicas, 3);
        assert.ok(stored?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
        await kubectl('delete', '-f', file);
      });

      it('creates a namespace, a deployment and a configmap with create subcommands (protobuf from kubectl ≥ 1.32)', async () => {
        const ns = `made-${version.minor}`;
        // -v=8 logs the request headers: kubectl 1.32's typed clients send protobuf, 1.20's JSON.
        const created = await kubectlWithLog('create', 'namespace', ns, '-v=8');
        assert.match(created.stdout, new RegExp(`namespace/${ns} created`));
        assert.equal(created.stderr.includes(`Content-Type: ${PROTOBUF}`), version.minor >= 32, `kubectl ${version.minor} ${version.minor >= 32 ? 'sent' : 'did not send'} protobuf`);
        assert.match(await kubectl('create', 'deployment', 'web', '--image=nginx', '-n', ns), /deployment.apps\/web created/);
        assert.match(await kubectl('create', 'configmap', 'settings', '--from-literal=a=b', '--from-literal=mode=fast', '-n', ns), /configmap\/settings created/);

        const namespace = await getYaml('namespace', ns);
        assert.deepEqual([namespace.metadata['name'], namespace['status'], namespace['spec']], [ns, { phase: 'Active' }, { finalizers: ['kubernetes'] }]);
        assert.equal((namespace.metadata['labels'] as Record<string, string>)['kubernetes.io/metadata.name'], ns);
        const web = await getYaml('deployment', 'web', '-n', ns);
        assert.equal(web.metadata['uid'], model.get('Deployment', ns, 'web')?.object.metadata.uid);
        const spec = web['spec'] as { replicas: number; selector: unknown; template: { metadata: { labels: unknown }; spec: { containers: Array<{ name: string; image: string }> } } };
        assert.equal(spec.replicas, 1);
        assert.deepEqual(spec.selector, { matchLabels: { app: 'web' } });
        assert.deepEqual(spec.template.metadata.labels, { app: 'web' });
        assert.deepEqual(spec.template.spec.containers.map((c) => [c.name, c.image]), [['nginx', 'nginx']]);
        const settings = await getYaml('configmap', 'settings', '-n', ns);
        assert.deepEqual(settings['data'], { a: 'b', mode: 'fast' });
        // Deleting the namespace also goes through the typed client (protobuf DeleteOptions from 1.32 on).
        await kubectl('delete', 'configmap', 'settings', '-n', ns);
        assert.equal(model.get('ConfigMap', ns, 'settings'), undefined);
      });

      if (version.minor >= 32) {
        it('reads protobuf GETs and LISTs (describe) and drains a node (protobuf DeleteOptions)', async () => {
          model.create(node('drained', 9));
          for (const name of ['on-drained-a', 'on-drained-b']) model.create(pod(name, { namespace: 'team-a', nodeName: 'drained' }));
          const described = await kubectlWithLog('describe', 'deployment', 'web', '-v=8');
          const replicas = (model.get('Deployment', 'default', 'web')?.object['spec'] as { replicas: number }).replicas;
          assert.match(described.stdout, new RegExp(`Replicas:\\s+${replicas} desired \\| 2 updated`));
          assert.ok(described.stderr.includes(`Content-Type: ${PROTOBUF}`), 'answered in protobuf');
          const drained = await kubectl('drain', 'drained', '--force', '--ignore-daemonsets', '--timeout=30s');
          assert.match(drained, /pod\/on-drained-a deleted/);
          assert.match(drained, /node\/drained drained/);
          assert.equal(model.get('Pod', 'team-a', 'on-drained-b'), undefined);
          assert.equal((model.get('Node', undefined, 'drained')?.object['spec'] as { unschedulable?: boolean }).unschedulable, true);
        });

        it('follows a pod through a protobuf watch (run --attach waits for it to be Running and Ready)', async () => {
          const e = env();
          const proc = spawnProcess(bin, ['--kubeconfig', kubeconfig, 'run', 'attached', '--image=busybox', '--restart=Never', '--attach', '--pod-running-timeout=60s', '-v=8'], { env: e });
          spawned.push(proc);
          await waitFor(() => /watch=true/.test(proc.output()) && model.get('Pod', 'default', 'attached'), { what: 'kubectl to create the pod and watch it', timeoutMs: 30_000 });
          const created = model.get('Pod', 'default', 'attached');
          assert.ok(created);
          model.update({ ...created.object, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
          // kubectl prints this once its watch has seen the pod Running and Ready, then tries to attach (which the sim does not serve).
          await waitFor(() => proc.output().includes("If you don't see a command prompt"), { what: 'kubectl to see the pod ready through its watch', timeoutMs: 30_000 });
          assert.ok(proc.output().includes(`Content-Type: ${PROTOBUF};stream=watch`), 'the watch was answered in protobuf frames');
          await proc.kill();
          model.delete('Pod', 'default', 'attached');
        });
      }

      it('watches pods across namespaces (get pods -A --watch)', async () => {
        const name = `watched-${version.minor}`;
        // `env` execs kubectl in place (same pid), with the fresh HOME and cache dir.
        const e = env();
        const proc = spawnProcess('env', [`HOME=${e['HOME'] as string}`, `KUBECACHEDIR=${e['KUBECACHEDIR'] as string}`, bin, '--kubeconfig', kubeconfig, 'get', 'pods', '-A', '--watch']);
        spawned.push(proc);
        await waitFor(() => proc.output().includes('pod-0007'), { what: `kubectl ${version.minor} to print the initial list` });
        model.create(pod(name, { namespace: 'team-a', phase: 'Pending' }));
        await waitFor(() => new RegExp(`team-a\\s+${name}\\s+\\S+\\s+Pending`).test(proc.output()), { what: 'the created pod in the watch output' });
        const current = model.get('Pod', 'team-a', name);
        assert.ok(current);
        model.update({ ...current.object, status: { phase: 'Running' } });
        await waitFor(() => new RegExp(`team-a\\s+${name}\\s+\\S+\\s+Running`).test(proc.output()), { what: 'the modified pod in the watch output' });
        await proc.kill();
        model.delete('Pod', 'team-a', name);
      });
    });
  }
});
