// Enforces the module boundaries of ARCHITECTURE.md: which module may import which, only
// through the target's index.ts, no cycles between modules, and no server-only packages in
// the SDK. Test support stays out of the product: fixtures and helpers live under test/, the
// fakes SDK users test with in src/testing (`kubemeta/testing`), and tests under src/ reach
// other modules through their index.ts as product code does. It reads the sources as text, so
// it needs no linter and cannot rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
/** Where the tests under src/ may take helpers and fixtures from, besides src/ itself. */
const TEST_SUPPORT = [join(root, 'test', 'helpers'), join(root, 'test', 'fixtures')];

/** module → modules it may import (through their index.ts). Mirrors ARCHITECTURE.md. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  schema: ['core'],
  config: ['core'],
  source: ['core', 'schema'],
  project: ['core', 'schema'],
  log: ['core', 'schema'],
  sim: ['core'],
  bus: ['core', 'schema', 'log'],
  service: ['core', 'schema', 'config', 'source', 'project', 'log', 'bus'],
  sdk: ['core', 'schema'],
  telemetry: ['core', 'schema', 'sdk'],
  'demo-agents': ['core', 'schema', 'sdk', 'telemetry'],
  console: ['core', 'schema', 'config', 'sdk', 'telemetry'],
  testing: ['core', 'schema', 'sdk', 'sim'],
  cli: ['core', 'schema', 'config', 'source', 'project', 'log', 'bus', 'service', 'sdk', 'telemetry', 'demo-agents', 'console', 'sim', 'testing'],
  '.': ['core', 'schema', 'config', 'service', 'sdk', 'log', 'bus', 'source', 'project'],
};

/** npm packages a module may not use (the SDK runs in agents: no server-side dependencies). */
const FORBIDDEN_PACKAGES: Record<string, readonly string[]> = {
  sdk: ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify', 'pino', 'prom-client', '@nats-io/jwt'],
  // Agents and brokers embed it next to the SDK: the same rule, no server-side dependencies.
  telemetry: ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify', 'pino', 'prom-client', '@nats-io/jwt'],
  // The simulated agents stand for what users embed beside the SDK: the same rule.
  'demo-agents': ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify', 'pino', 'prom-client', '@nats-io/jwt'],
  schema: ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify'],
  core: ['lmdb', 'etcd3', '@kubernetes/client-node', 'fastify', 'pino', 'prom-client', '@nats-io/transport-node'],
  sim: ['lmdb', 'etcd3', '@nats-io/transport-node'],
};

interface ImportSite {
  file: string;
  line: number;
  specifier: string;
}

/** The TypeScript files under `dir` (generated code aside) whose name `keep` accepts. */
function filesUnder(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'gen') filesUnder(path, keep, out);
    } else if (name.endsWith('.ts') && keep(name)) {
      out.push(path);
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return filesUnder(dir, (name) => !name.endsWith('.test.ts'));
}

function testFiles(dir: string): string[] {
  return filesUnder(dir, (name) => name.endsWith('.test.ts'));
}

/** A test, or a helper named as one: what product code never imports. */
function isTestSupport(file: string): boolean {
  const name = basename(file);
  return name.endsWith('.test.ts') || name.startsWith('test-');
}

/** Files named test-* under src/ outside src/testing: test support inside a product module. */
function misplacedTestSupport(files: readonly string[]): string[] {
  return files
    .filter((f) => basename(f).startsWith('test-') && moduleOf(f) !== 'testing')
    .map((f) => `${relative(root, f)}: test support belongs in test/helpers, test/fixtures or src/testing`);
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): ImportSite[] {
  const text = readFileSync(file, 'utf8');
  const sites: ImportSite[] = [];
  for (const match of text.matchAll(IMPORT_RE)) {
    const specifier = match[1] ?? match[2];
    if (!specifier) continue;
    const line = text.slice(0, match.index).split('\n').length + (match[0].startsWith('\n') ? 1 : 0);
    sites.push({ file, line, specifier });
  }
  return sites;
}

function moduleOf(file: string): string {
  const rel = relative(src, file);
  return rel.includes('/') ? (rel.split('/')[0] as string) : '.';
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

function checkSite(site: ImportSite, violations: string[], edges: Map<string, Set<string>>): void {
  const from = moduleOf(site.file);
  const where = `${relative(root, site.file)}:${site.line}`;
  if (!site.specifier.startsWith('.')) {
    if (site.specifier.startsWith('node:')) return;
    const pkg = packageName(site.specifier);
    if (FORBIDDEN_PACKAGES[from]?.includes(pkg)) violations.push(`${where} imports ${pkg}; ${from} may not use ${pkg}`);
    return;
  }
  const target = resolve(dirname(site.file), site.specifier);
  if (!target.startsWith(src + '/')) {
    violations.push(`${where} imports ${site.specifier}, outside src/`);
    return;
  }
  if (isTestSupport(target)) {
    violations.push(`${where} imports ${site.specifier}: product code may not import test support`);
    return;
  }
  const to = moduleOf(target);
  if (to === from) return;
  const allowed = ALLOWED[from];
  if (!allowed) {
    violations.push(`${where}: module ${from} is not in the module table (ARCHITECTURE.md)`);
    return;
  }
  if (!allowed.includes(to)) {
    violations.push(`${where} imports ${site.specifier}; ${from} may import only ${allowed.join(', ') || 'nothing internal'}`);
  }
  if (to !== '.' && relative(src, target) !== `${to}/index.ts`) {
    violations.push(`${where} imports ${site.specifier}; import another module only through ${to}/index.ts`);
  }
  let set = edges.get(from);
  if (!set) edges.set(from, (set = new Set()));
  set.add(to);
}

/**
 * A test under src/ may import its own module's files, another module only through its
 * index.ts (as product code, so that a module's internals can move without breaking the tests
 * of others), and helpers and fixtures from test/helpers and test/fixtures.
 */
function checkTestSite(site: ImportSite, violations: string[]): void {
  if (!site.specifier.startsWith('.')) return;
  const where = `${relative(root, site.file)}:${site.line}`;
  const target = resolve(dirname(site.file), site.specifier);
  if (!target.startsWith(src + '/')) {
    if (!TEST_SUPPORT.some((dir) => target.startsWith(dir + '/'))) {
      violations.push(`${where} imports ${site.specifier}; a test under src/ takes test support only from test/helpers or test/fixtures`);
    }
    return;
  }
  const from = moduleOf(site.file);
  const to = moduleOf(target);
  if (to === from || to === '.') return;
  if (relative(src, target) !== `${to}/index.ts`) {
    violations.push(`${where} imports ${site.specifier}; a test imports another module only through ${to}/index.ts`);
  }
}

function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

test('every module imports only the modules the architecture allows, through their index.ts', () => {
  const violations: string[] = [];
  const edges = new Map<string, Set<string>>();
  const files = sourceFiles(src);
  assert.ok(files.length > 10, `expected the sources under src/, found ${files.length} files`);
  for (const file of files) {
    for (const site of importsOf(file)) checkSite(site, violations, edges);
  }
  assert.deepEqual(violations, []);
  assert.equal(findCycle(edges), undefined, 'modules must not import each other in a cycle');
});

test('test support stays out of the product modules', () => {
  const files = [...sourceFiles(src), ...testFiles(src)];
  assert.deepEqual(misplacedTestSupport(files), []);
});

test('tests under src/ reach other modules only through their index.ts', () => {
  const violations: string[] = [];
  const files = testFiles(src);
  assert.ok(files.length > 10, `expected the tests under src/, found ${files.length} files`);
  for (const file of files) {
    for (const site of importsOf(file)) checkTestSite(site, violations);
  }
  assert.deepEqual(violations, []);
});

test('every module listed in the table has a face (index.ts)', () => {
  const missing = Object.keys(ALLOWED)
    .filter((m) => m !== '.' && m !== 'cli')
    .filter((m) => {
      try {
        return !statSync(join(src, m, 'index.ts')).isFile();
      } catch {
        return true;
      }
    });
  // Modules not built yet have no directory content; a directory with files needs a face.
  const withFiles = missing.filter((m) => {
    try {
      return readdirSync(join(src, m)).some((f) => f.endsWith('.ts'));
    } catch {
      return false;
    }
  });
  assert.deepEqual(withFiles, [], 'a module with sources must export its face from index.ts');
});

test('the import scanner finds the imports it is meant to police', () => {
  // Guards the guard: if the regex stopped matching, the tests above would pass vacuously.
  const sites = importsOf(join(src, 'core', 'index.ts'));
  assert.ok(sites.some((s) => s.specifier === './errors.ts'));
  const fake: ImportSite = { file: join(src, 'sdk', 'x.ts'), line: 1, specifier: '../log/index.ts' };
  const violations: string[] = [];
  checkSite(fake, violations, new Map());
  assert.match(violations[0] ?? '', /sdk may import only core, schema/);
  const deep: ImportSite = { file: join(src, 'bus', 'x.ts'), line: 3, specifier: '../log/update-log.ts' };
  checkSite(deep, violations, new Map());
  assert.match(violations[1] ?? '', /only through log\/index.ts/);
  const pkg: ImportSite = { file: join(src, 'sdk', 'x.ts'), line: 2, specifier: 'lmdb' };
  checkSite(pkg, violations, new Map());
  assert.match(violations[2] ?? '', /sdk may not use lmdb/);
  assert.deepEqual(findCycle(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]])), ['a', 'b', 'a']);
});

test('the test-support checks find what they are meant to police', () => {
  const violations: string[] = [];
  checkSite({ file: join(src, 'sdk', 'x.ts'), line: 1, specifier: './test-objects.ts' }, violations, new Map());
  checkSite({ file: join(src, 'sdk', 'x.ts'), line: 2, specifier: './x.test.ts' }, violations, new Map());
  checkSite({ file: join(src, 'sdk', 'x.ts'), line: 3, specifier: '../../test/helpers/x.ts' }, violations, new Map());
  assert.equal(violations.length, 3);
  assert.match(violations[0] ?? '', /product code may not import test support/);
  assert.match(violations[1] ?? '', /product code may not import test support/);
  assert.match(violations[2] ?? '', /outside src/);

  const testViolations: string[] = [];
  const test = (specifier: string): void => checkTestSite({ file: join(src, 'console', 'x.test.ts'), line: 1, specifier }, testViolations);
  test('./entry.ts');
  test('../sdk/index.ts');
  test('../testing/index.ts');
  test('../../test/helpers/fake-cluster-client.ts');
  test('../../test/fixtures/updates.ts');
  assert.deepEqual(testViolations, []);
  test('../sdk/local-state.ts');
  test('../../test/integration/x.ts');
  assert.equal(testViolations.length, 2);
  assert.match(testViolations[0] ?? '', /only through sdk\/index.ts/);
  assert.match(testViolations[1] ?? '', /only from test\/helpers or test\/fixtures/);

  const misplaced = misplacedTestSupport([join(src, 'sdk', 'test-fakes.ts'), join(src, 'testing', 'test-cluster.ts'), join(src, 'sdk', 'local-state.ts')]);
  assert.deepEqual(misplaced, ['src/sdk/test-fakes.ts: test support belongs in test/helpers, test/fixtures or src/testing']);
});
