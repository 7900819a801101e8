// The Kubernetes manifests under deploy/ and the Dockerfile, checked against the code they
// deploy: RBAC against the kinds the source watches, container args against `kubemeta serve`'s
// flag table and config schema, probes against the service's HTTP routes, the store path
// against the LMDB store; then applied with kubectl to the simulated cluster and deleted again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { parseAllDocuments } from 'yaml';
import { SERVE_OPTIONS, addOptions, kebab } from '../../src/cli/options.ts';
import { loadServeConfig } from '../../src/cli/serve-command.ts';
import { envName, type ServeConfig } from '../../src/config/index.ts';
import { waitFor } from '../../src/core/index.ts';
import { openLmdbStore } from '../../src/log/index.ts';
import { buildHttpServer } from '../../src/service/http-server.ts';
import { WATCHED_KINDS } from '../../src/source/index.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { startSimCluster, type SimCluster } from '../../src/testing/index.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const deployDir = join(repo, 'deploy');
const KUBECTL = '/usr/bin/kubectl';
const READ_VERBS = new Set(['get', 'list', 'watch']);

type Json = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [field: string]: unknown;
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: Json }>;
  envFrom?: Array<{ configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Json; limits?: Json };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface PodSpec {
  serviceAccountName?: string;
  enableServiceLinks?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: Json; [k: string]: unknown }>;
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function parseYaml(text: string, where: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const out: K8sObject[] = [];
  for (const doc of docs) {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${where}: YAML errors`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    assert.ok(typeof value === 'object' && !Array.isArray(value), `${where}: every document is a mapping`);
    out.push(value as K8sObject);
  }
  return out;
}

/** The objects `kubectl kustomize <dir>` renders: what `kubectl apply -k <dir>` sends. */
async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(KUBECTL, ['kustomize', dir], { timeout: 60_000 });
  return parseYaml(stdout, `kubectl kustomize ${relative(repo, dir)}`);
}

function find(objects: readonly K8sObject[], kind: string, name: string, namespace?: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
}

function podSpecOf(o: K8sObject): PodSpec {
  return ((o['spec'] as Json)['template'] as Json)['spec'] as PodSpec;
}

function workloads(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind));
}

function kubemetaContainer(objects: readonly K8sObject[]): { sts: K8sObject; pod: PodSpec; container: Container } {
  const sts = find(objects, 'StatefulSet', 'kubemeta', 'kubemeta');
  assert.ok(sts, 'a StatefulSet kubemeta/kubemeta');
  const pod = podSpecOf(sts);
  const container = pod.containers.find((c) => c.name === 'kubemeta');
  assert.ok(container, 'the StatefulSet has a container named kubemeta');
  return { sts, pod, container };
}

/**
 * The container's args as `kubemeta serve` parses them (the flag table of src/cli/options.ts,
 * as main.ts registers it), and the config they make together with the container's
 * environment (literal values and ConfigMaps; Secrets are optional and left out).
 */
function serveConfigOf(objects: readonly K8sObject[], container: Container, namespace: string): { config: ServeConfig; env: Record<string, string> } {
  const args = container.args ?? [];
  assert.equal(container.command, undefined, 'the image ENTRYPOINT runs kubemeta; the manifest passes only args');
  assert.equal(args[0], 'serve', 'the container runs `kubemeta serve`');
  const command = addOptions(new Command('serve').option('--config <file>', 'config file'), SERVE_OPTIONS)
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    command.parse(args.slice(1), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) assert.fail(`the args ${JSON.stringify(args)} are not what \`kubemeta serve\` accepts: ${err.message}`);
    throw err;
  }
  assert.deepEqual(command.args, [], 'no positional arguments');

  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    assert.equal(from.secretRef, undefined, 'credentials come from single secretKeyRef entries, not whole Secrets');
    const ref = from.configMapRef;
    assert.ok(ref, 'envFrom names a ConfigMap');
    const cm = find(objects, 'ConfigMap', ref.name, namespace);
    assert.ok(cm || ref.optional === true, `envFrom ConfigMap ${ref.name} exists in ${namespace}`);
    Object.assign(env, (cm?.['data'] as Record<string, string> | undefined) ?? {});
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  for (const e of container.env ?? []) {
    const secret = (e.valueFrom?.['secretKeyRef'] as { optional?: boolean } | undefined);
    if (secret) assert.equal(secret.optional, true, `${e.name}: a Secret the manifests do not create must be optional`);
  }
  // loadConfig ignores environment variables it does not know: a misspelt one would be ignored
  // silently, so every KUBEMETA_* name must be an option's.
  const known = new Set(SERVE_OPTIONS.map((o) => envName(o.key)));
  const named = [...Object.keys(env), ...(container.env ?? []).map((e) => e.name)].filter((n) => n.startsWith('KUBEMETA_'));
  for (const name of named) assert.ok(known.has(name), `${name} is not a \`kubemeta serve\` option (known: ${[...known].join(', ')})`);
  return { config: loadServeConfig(command.opts(), env), env };
}

function containerPort(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  assert.ok(named, `port ${port} is one of the container's ports`);
  return named.containerPort;
}

const variants = [
  { name: 'LMDB (deploy/)', dir: deployDir, store: 'lmdb' as const },
  { name: 'etcd (deploy/etcd)', dir: join(deployDir, 'etcd'), store: 'etcd' as const },
];

describe('deploy/ manifests', () => {
  const rendered = new Map<string, K8sObject[]>();

  before(async () => {
    for (const v of variants) rendered.set(v.name, await render(v.dir));
  });

  it('every YAML document under deploy/ parses and has an apiVersion, a kind and a name', () => {
    const files = yamlFiles(deployDir);
    assert.ok(files.length >= 8, `expected the manifests under deploy/, found ${files.length} files`);
    for (const file of files) {
      const docs = parseYaml(readFileSync(file, 'utf8'), relative(repo, file));
      assert.ok(docs.length > 0, `${relative(repo, file)} holds at least one document`);
      for (const doc of docs) {
        assert.match(String(doc.apiVersion), /^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/, `${relative(repo, file)}: apiVersion`);
        assert.match(String(doc.kind), /^[A-Z][A-Za-z]+$/, `${relative(repo, file)}: kind`);
        if (doc.kind !== 'Kustomization' && doc.kind !== 'Component') assert.ok(doc.metadata?.name, `${relative(repo, file)}: ${doc.kind} has metadata.name`);
      }
    }
  });

  it('every manifest file is used by a kustomization (none is silently left out)', () => {
    const used = new Set<string>();
    const kustomizations = yamlFiles(deployDir).filter((f) => /kustomization\.ya?ml$/.test(f));
    for (const k of kustomizations) {
      const [doc] = parseYaml(readFileSync(k, 'utf8'), k);
      const dir = join(k, '..');
      for (const r of (doc?.['resources'] as string[] | undefined) ?? []) used.add(join(dir, r));
      for (const p of (doc?.['patches'] as Array<{ path?: string }> | undefined) ?? []) if (p.path) used.add(join(dir, p.path));
    }
    for (const file of yamlFiles(deployDir).filter((f) => !kustomizations.includes(f))) {
      assert.ok(used.has(file), `${relative(repo, file)} is listed in no kustomization.yaml`);
    }
  });

  for (const v of variants) {
    describe(v.name, () => {
      const objects = (): K8sObject[] => rendered.get(v.name) as K8sObject[];

      it('the ClusterRole grants get/list/watch on exactly the kinds the source watches, nothing else', () => {
        const role = find(objects(), 'ClusterRole', 'kubemeta-reader');
        assert.ok(role, 'a ClusterRole kubemeta-reader');
        const granted = new Set<string>();
        for (const rule of role['rules'] as Rule[]) {
          assert.equal(rule.nonResourceURLs, undefined, 'no non-resource URLs');
          assert.equal(rule.resourceNames, undefined, 'no resourceNames: every object of a kind is read');
          for (const verb of rule.verbs ?? []) assert.ok(READ_VERBS.has(verb), `verb ${verb} is not one of get, list, watch`);
          for (const group of rule.apiGroups ?? []) {
            for (const resource of rule.resources ?? []) {
              assert.notEqual(group, '*');
              assert.notEqual(resource, '*');
              for (const verb of rule.verbs ?? []) granted.add(`${group}/${resource}:${verb}`);
            }
          }
        }
        // Derived from WATCHED_KINDS: a kind added there fails here until the ClusterRole grants it.
        const expected = new Set(Object.values(WATCHED_KINDS).flatMap((k) => [...READ_VERBS].map((verb) => `${k.group}/${k.plural}:${verb}`)));
        assert.deepEqual([...granted].sort(), [...expected].sort());
      });

      it('the Role allows only leader election with Leases in the namespace', () => {
        const role = find(objects(), 'Role', 'kubemeta-leader-election', 'kubemeta');
        assert.ok(role, 'a Role kubemeta/kubemeta-leader-election');
        assert.deepEqual(role['rules'], [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
      });

      it('bindings and workloads reference ServiceAccounts, roles and ConfigMaps that exist', () => {
        const bindings = objects().filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
        assert.deepEqual(bindings.map((b) => `${b.kind}/${b.metadata.name}`).sort(), ['ClusterRoleBinding/kubemeta-reader', 'RoleBinding/kubemeta-leader-election']);
        for (const b of bindings) {
          const ref = b['roleRef'] as { apiGroup: string; kind: string; name: string };
          assert.equal(ref.apiGroup, 'rbac.authorization.k8s.io');
          assert.ok(find(objects(), ref.kind, ref.name, ref.kind === 'Role' ? b.metadata.namespace : undefined), `${b.kind}/${b.metadata.name}: ${ref.kind} ${ref.name} exists`);
          if (b.kind === 'RoleBinding') assert.equal(ref.kind, 'Role', 'a RoleBinding grants a Role, not the ClusterRole, so it stays in its namespace');
          const subjects = b['subjects'] as Array<{ kind: string; name: string; namespace?: string }>;
          assert.ok(subjects.length > 0);
          for (const s of subjects) {
            assert.equal(s.kind, 'ServiceAccount');
            assert.ok(find(objects(), 'ServiceAccount', s.name, s.namespace), `${b.kind}/${b.metadata.name}: ServiceAccount ${s.namespace}/${s.name} exists`);
          }
        }
        const { sts, pod } = kubemetaContainer(objects());
        assert.ok(pod.serviceAccountName && find(objects(), 'ServiceAccount', pod.serviceAccountName, sts.metadata.namespace), 'the StatefulSet runs as an existing ServiceAccount');
        const governing = (sts['spec'] as { serviceName?: string }).serviceName;
        assert.ok(governing && find(objects(), 'Service', governing, sts.metadata.namespace), 'the governing Service exists');
        for (const o of objects()) {
          if (o.kind !== 'Namespace' && o.metadata.namespace !== undefined) {
            assert.ok(find(objects(), 'Namespace', o.metadata.namespace), `${o.kind}/${o.metadata.name}: its namespace is created too`);
          }
        }
      });

      it('every workload runs as non-root with a read-only root filesystem, no capabilities, and resources', () => {
        for (const w of workloads(objects())) {
          const pod = podSpecOf(w);
          assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name}: runAsNonRoot`);
          assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${w.metadata.name}: a numeric non-root runAsUser`);
          assert.equal(pod.enableServiceLinks, false, `${w.metadata.name}: no service-link environment (KUBEMETA_SERVICE_HOST, … would land in kubemeta's option namespace)`);
          for (const c of pod.containers) {
            const where = `${w.metadata.name}/${c.name}`;
            assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
            assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
            assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${where}: drops ALL capabilities`);
            assert.equal(c.securityContext?.capabilities?.add, undefined, `${where}: adds none`);
            assert.ok(c.resources?.requests?.['cpu'] && c.resources.requests['memory'], `${where}: cpu and memory requests`);
            assert.ok(c.resources.limits?.['memory'], `${where}: a memory limit`);
          }
        }
      });

      it('kubemeta serve: args are flags it accepts, the config loads, probes hit its HTTP routes', async () => {
        const { sts, pod, container } = kubemetaContainer(objects());
        const { config } = serveConfigOf(objects(), container, sts.metadata.namespace as string);
        assert.equal(config.inCluster, true, '--in-cluster: the pod authenticates with its ServiceAccount');
        assert.equal(config.store.kind, v.store);
        assert.ok(config.natsUrls.every((u) => !u.includes('127.0.0.1')), 'NATS is not expected on the pod itself');
        const [host, port] = config.http.split(':');
        assert.equal(host, '0.0.0.0', 'HTTP listens beyond loopback, for probes and scrapes');
        assert.ok(container.ports?.some((p) => p.name === 'http' && p.containerPort === Number(port)), `containerPort http is ${port}`);

        const app = buildHttpServer({ healthy: () => true, readiness: () => ({ ready: true }), metrics: async () => ({ contentType: 'text/plain', text: '' }), status: () => ({}) });
        try {
          const probes = { livenessProbe: '/healthz', readinessProbe: '/readyz', startupProbe: '/healthz' } as const;
          for (const [probe, path] of Object.entries(probes)) {
            const get = container[probe as keyof typeof probes]?.httpGet;
            assert.ok(get, `${probe} is an HTTP GET`);
            assert.equal(get.path, path, `${probe} path`);
            assert.equal(containerPort(container, get.port), Number(port), `${probe} goes to --http's port`);
            assert.equal((await app.inject({ method: 'GET', url: get.path })).statusCode, 200, `${probe}: GET ${get.path} is a route of the service's HTTP server`);
          }
          const service = find(objects(), 'Service', 'kubemeta', 'kubemeta');
          const servicePort = ((service?.['spec'] as Json | undefined)?.['ports'] as Array<{ port: number; targetPort: string | number }> | undefined)?.[0];
          assert.ok(servicePort && containerPort(container, servicePort.targetPort) === Number(port), 'Service kubemeta reaches the HTTP port');
          assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
        } finally {
          await app.close();
        }

        const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, m]));
        const tmp = mounts.get('/tmp');
        assert.ok(tmp && !tmp.readOnly && pod.volumes?.some((vol) => vol.name === tmp.name && vol.emptyDir), 'a writable emptyDir at /tmp: tsx cannot start without a writable $TMPDIR');

        const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
        assert.equal(container.image, `kubemeta:${version}`, 'the image is the version in package.json');
      });

      if (v.store === 'lmdb') {
        it('LMDB: one replica, the store on the PersistentVolume, at a path the LMDB store opens', async () => {
          const { sts, container } = kubemetaContainer(objects());
          const { config } = serveConfigOf(objects(), container, 'kubemeta');
          assert.equal((sts['spec'] as Json)['replicas'], 1, 'LMDB lives on one pod\'s volume: exactly one replica');
          assert.ok(config.store.kind === 'lmdb');
          const templates = ((sts['spec'] as Json)['volumeClaimTemplates'] as Array<{ metadata: { name: string } }> | undefined) ?? [];
          const mount = (container.volumeMounts ?? []).find((m) => config.store.kind === 'lmdb' && config.store.path.startsWith(`${m.mountPath}/`));
          assert.ok(mount && templates.some((t) => t.metadata.name === mount.name), `${config.store.path} is on a volume from a volumeClaimTemplate`);
          // The same path under a temporary root: the store must open there as a directory.
          const dir = await makeTempDir('deploy-store');
          try {
            const store = await openLmdbStore({ path: join(dir.path, config.store.path), mapSize: 16 * 1024 * 1024 });
            await store.close();
            assert.ok(existsSync(join(dir.path, config.store.path, 'data.mdb')));
          } finally {
            await dir.remove();
          }
        });
      } else {
        it('etcd: several replicas, no PersistentVolume', () => {
          const { sts, container } = kubemetaContainer(objects());
          assert.ok(((sts['spec'] as Json)['replicas'] as number) >= 2, 'replicas ≥ 2');
          assert.equal((sts['spec'] as Json)['volumeClaimTemplates'], undefined);
          assert.equal((container.volumeMounts ?? []).find((m) => m.mountPath === '/data'), undefined);
        });
      }
    });
  }

  it('the Dockerfile builds a non-root Node 24 image whose entrypoint is in the repository', () => {
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    const lines = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) assert.match(from, /^FROM\s+node:24(-[a-z]+)?(\s+AS\s+\w+)?$/i, 'every stage is Node 24 (Debian-based: lmdb ships glibc binaries)');
    const finalStage = lines.slice(lines.lastIndexOf(froms[froms.length - 1] as string));
    const user = finalStage.filter((l) => /^USER\s/i.test(l)).pop();
    assert.ok(user, 'the final stage sets USER');
    assert.match(user, /^USER\s+[1-9]\d*(:[1-9]\d*)?$/i, 'a numeric non-root user (runAsNonRoot can only verify a numeric one)');
    const workdir = finalStage.filter((l) => /^WORKDIR\s/i.test(l)).pop()?.split(/\s+/)[1];
    const entrypoint = finalStage.find((l) => /^ENTRYPOINT\s/i.test(l));
    assert.ok(workdir && entrypoint, 'WORKDIR and ENTRYPOINT');
    const argv = JSON.parse(entrypoint.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    assert.equal(argv[0], 'node');
    const script = argv[1] as string;
    assert.ok(script.startsWith(`${workdir}/`), 'the entrypoint script is in the app directory');
    assert.ok(existsSync(join(repo, script.slice(workdir.length + 1))), `${script} exists in the repository`);
    assert.equal(readFileSync(join(repo, 'package.json'), 'utf8').includes('"kubemeta": "bin/kubemeta.js"'), true, 'the entrypoint is the package bin');

    // The image runs compiled JavaScript (issue 14): a stage compiles src/ (`npm run build`),
    // the last one gets dist/ from it, bin/, package.json and the production dependencies —
    // not src/, not tsx.
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
    assert.ok(lines.some((l) => /npm ci\b.*--omit=dev/.test(l)), 'production dependencies only');
    assert.equal(pkg.dependencies['tsx'], undefined, 'tsx is not a production dependency: nothing runs TypeScript at run time');
    assert.ok(pkg.scripts['build'], 'package.json has the build script');
    const buildStage = lines.findIndex((l) => /^RUN\s+npm run build\b/.test(l));
    assert.ok(buildStage >= 0 && buildStage < lines.lastIndexOf(froms[froms.length - 1] as string), 'an earlier stage runs npm run build');
    assert.ok(finalStage.some((l) => /^COPY\s+--from=\w+\s+\/app\/dist\s/i.test(l)), 'the image copies dist/ from the build stage');
    for (const needed of ['bin', 'package.json']) {
      assert.ok(finalStage.some((l) => new RegExp(`^COPY\\s+(?!--from)[^\\n]*\\b${needed.replace('.', '\\.')}\\b`, 'i').test(l)), `the image copies ${needed}`);
    }
    assert.ok(!finalStage.some((l) => /^COPY\s+(--from=\w+\s+)?\S*src\b/i.test(l)), 'the image holds no sources');
    assert.ok(finalStage.some((l) => l === 'ENV NODE_OPTIONS=--max-semi-space-size=64'), 'the young generation stays at 64 MB');
    const ignore = readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const needed of ['!bin/', '!src/', '!package.json', '!package-lock.json', '!tsconfig.json', '!tsconfig.build.json', '!scripts/build.mjs', '!packages/sdk/tsconfig.json']) {
      assert.ok(ignore.includes(needed), `.dockerignore lets ${needed.slice(1)} in (the build stage needs it)`);
    }
  });

  it('docs/operating.md lists every `kubemeta serve` option and every metric of the service', () => {
    const doc = readFileSync(join(repo, 'docs/operating.md'), 'utf8');
    for (const o of SERVE_OPTIONS) {
      assert.ok(doc.includes(`\`--${kebab(o.key)}`), `--${kebab(o.key)} is documented`);
      assert.ok(doc.includes(`\`${envName(o.key)}\``), `${envName(o.key)} is documented`);
    }
    const metrics = [...readFileSync(join(repo, 'src/service/metrics.ts'), 'utf8').matchAll(/'(kubemeta_[a-z_]+)'/g)].map((m) => m[1] as string);
    assert.ok(metrics.length >= 20, `found the metric names in src/service/metrics.ts (${metrics.length})`);
    for (const name of metrics) assert.ok(doc.includes(`\`${name}\``), `metric ${name} is documented`);
  });
});

describe('deploy/ applied with kubectl to the simulated cluster', () => {
  let sim: SimCluster;
  let dir: { path: string; remove: () => Promise<void> };
  const kubectl = async (...args: string[]): Promise<string> => {
    const env = { ...process.env, HOME: join(dir.path, 'home'), KUBECACHEDIR: join(dir.path, 'cache'), KUBECONFIG: '' };
    try {
      return (await run(KUBECTL, ['--kubeconfig', sim.kubeconfig, ...args], { env, timeout: 120_000 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
    }
  };

  before(async () => {
    sim = await startSimCluster({ seed: 7, nodes: 2, podsPerNode: 4 });
    dir = await makeTempDir('deploy-kubectl');
  });

  after(async () => {
    await sim?.stop();
    await dir?.remove();
  });

  for (const v of variants) {
    it(`${v.name}: kubectl apply -k creates every object, a second apply changes nothing, delete -k removes them`, async () => {
      const model = sim.engine.model;
      const objects = await render(v.dir);
      const created = await kubectl('apply', '-k', v.dir);
      for (const o of objects) {
        const namespace = o.metadata.namespace;
        const stored = model.get(o.kind, namespace, o.metadata.name);
        assert.ok(stored, `${o.kind} ${namespace ?? ''}/${o.metadata.name} is in the cluster after apply:\n${created}`);
        assert.equal(stored.object.apiVersion, o.apiVersion);
      }
      const again = await kubectl('apply', '-k', v.dir);
      assert.ok(again.split('\n').filter((l) => l !== '').every((l) => l.endsWith(' unchanged')), `the second apply changes nothing:\n${again}`);

      // The sim's controllers run the workloads: StatefulSet pods kubemeta-0…, the NATS pod.
      const replicas = ((find(objects, 'StatefulSet', 'kubemeta')?.['spec'] as Json)['replicas'] as number);
      await waitFor(() => model.list('Pod', { namespace: 'kubemeta' }).items.filter((p) => p.object.metadata.name.startsWith('kubemeta-')).length === replicas, { timeoutMs: 20_000, what: `${replicas} kubemeta pods` });
      const pod = model.get('Pod', 'kubemeta', 'kubemeta-0')?.object;
      assert.equal((pod?.['spec'] as { serviceAccountName?: string } | undefined)?.serviceAccountName, 'kubemeta');
      assert.match(await kubectl('get', 'clusterrole', 'kubemeta-reader', '-o', 'name'), /clusterrole.rbac.authorization.k8s.io\/kubemeta-reader/);

      // The sim deletes a Namespace's contents at once (no Terminating phase), so the objects
      // kubectl deletes after the Namespace may be gone already.
      await kubectl('delete', '-k', v.dir, '--wait=false', '--ignore-not-found');
      await waitFor(() => objects.every((o) => !model.get(o.kind, o.metadata.namespace, o.metadata.name)) && model.list('Pod', { namespace: 'kubemeta' }).items.length === 0, {
        timeoutMs: 20_000,
        what: 'every object of the manifests, and the pods, deleted',
      });
    });
  }
});
