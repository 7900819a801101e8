// Enforces the module boundaries of ARCHITECTURE.md: which module may import which, only
// through the target's index.ts, no cycles between modules, and no server-only packages in
// the SDK. It reads the sources as text, so it needs no linter and cannot rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

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
  testing: ['core', 'schema', 'sim'],
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

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'gen') sourceFiles(path, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
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
