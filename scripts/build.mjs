#!/usr/bin/env node
// `npm run build`: compiles the TypeScript sources to ES modules with declarations and source
// maps, for the two packages this repository publishes:
//
//   dist/               the `kubemeta` package: the service, the CLI, `kubemeta/sdk`,
//                       `kubemeta/testing`; and dist/kubemeta.mjs, the CLI as one bundle
//                       (bundleCli below), which bin/kubemeta.js runs
//   packages/sdk/dist/  `@kubemeta/sdk`: src/sdk/index.ts and what it imports (src/sdk,
//                       src/schema, src/core) — nothing of the server
//
// Silent and quick when there is nothing to do: it records what it was built from
// (bin/freshness.js) and skips a build whose inputs have not changed, so setup, CI, `npm pack`
// (prepack) and the package test can all call it. `--force` builds anyway.
//
// Each tree is built into a temporary directory next to it and swapped in whole, so a
// `kubemeta` started during a build sees the old build or the new one, never half of one. A
// lock directory keeps two builds (say, the package test and a developer) from interleaving;
// the second waits, then finds the first one's result current and does nothing.
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputSnapshot, staleReason, STAMP } from '../bin/freshness.js';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const force = process.argv.includes('--force');
const verbose = process.argv.includes('--verbose');

/**
 * What is built: tsconfig → output directory, and the files under src/ the code reads at run
 * time without importing them (the console's static page). What it imports but tsc does not
 * emit — the generated protobuf code, JavaScript + .d.ts — is found by copyImported().
 */
const TARGETS = [
  { tsconfig: 'tsconfig.build.json', out: 'dist', assets: ['console/web'], bundle: true },
  { tsconfig: 'packages/sdk/tsconfig.json', out: 'packages/sdk/dist', assets: [] },
];
const LOCK = join(root, '.build.lock');
const LOCK_WAIT_MS = 120_000;

function log(message) {
  if (verbose) process.stderr.write(`build: ${message}\n`);
}

function stale(inputs) {
  if (force) return 'forced';
  for (const t of TARGETS) {
    const reason = staleReason(root, t.out, inputs);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

async function withLock(fn) {
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (lockAbandoned()) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`another build holds ${relative(root, LOCK)} for over ${LOCK_WAIT_MS / 1000} s; remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** A lock whose build process is gone (killed mid-build) must not block every later build. */
function lockAbandoned() {
  let pid = NaN;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // Created but its pid not written yet, or the lock was just released: only a lock that
    // stays like that is abandoned.
    try {
      return Date.now() - statSync(LOCK).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return err.code === 'ESRCH';
  }
}

function tsc(tsconfig, outDir) {
  const bin = join(root, 'node_modules', '.bin', 'tsc');
  if (!existsSync(bin)) throw new Error('TypeScript is not installed (node_modules/.bin/tsc): run `npm ci` first');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-p', tsconfig, '--outDir', outDir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${tsconfig} failed:\n${output}`))));
  });
}

async function build() {
  removeLeftovers();
  // The inputs as they are before tsc reads them: an edit during the build makes it stale.
  const inputs = inputSnapshot(root);
  const reason = stale(inputs);
  if (reason === undefined) {
    log('up to date');
    return;
  }
  log(`building (${reason})`);
  const t0 = Date.now();
  const tmp = TARGETS.map((t) => `${t.out}.tmp-${process.pid}`);
  try {
    // Both compiles at once: each is mostly one core's work.
    await Promise.all(TARGETS.map((t, i) => tsc(t.tsconfig, tmp[i])));
    for (const [i, t] of TARGETS.entries()) {
      copyImported(join(root, tmp[i]));
      for (const asset of t.assets) cpSync(join(root, 'src', asset), join(root, tmp[i], asset), { recursive: true });
      if (t.bundle) await bundleCli(join(root, tmp[i]));
      writeFileSync(join(root, tmp[i], STAMP), JSON.stringify({ builtAt: new Date(t0).toISOString(), inputs }));
    }
    TARGETS.forEach((t, i) => swapIn(join(root, tmp[i]), join(root, t.out)));
  } finally {
    for (const dir of tmp) rmSync(join(root, dir), { recursive: true, force: true });
  }
  log(`built in ${Date.now() - t0} ms`);
}

/**
 * dist/kubemeta.mjs: the CLI and everything it imports in one ES module. Node resolving,
 * reading and compiling the ~900 files of the unbundled CLI and its dependencies took 1.4 s of
 * every start (`kubemeta serve --help`), the bundle 0.65 s: a restart's budget is a few
 * seconds. Left outside: lmdb and msgpackr-extract (native addons), etcd3 (loaded only for an
 * etcd store, with its gRPC stack). `punycode` is the npm package's (a devDependency: it is
 * bundled), see the alias. The CommonJS dependencies inside call `require`, which an
 * ES module does not have: the banner gives them one.
 */
async function bundleCli(out) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(out, 'cli', 'main.js')],
    outfile: join(out, 'kubemeta.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['lmdb', 'msgpackr-extract', 'etcd3'],
    // whatwg-url and tr46 (under @kubernetes/client-node's node-fetch) require Node's built-in
    // punycode, deprecated since Node 21: Node warns (DEP0040) unless the caller lives in
    // node_modules, which bundled code does not. The same code from npm's punycode package.
    alias: { punycode: 'punycode/' },
    banner: { js: "import { createRequire as kubemetaCreateRequire } from 'node:module'; const require = kubemetaCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'error',
  });
}

const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

/**
 * Copies from src/ into `out` every file that the emitted code imports and tsc did not emit:
 * the generated protobuf modules (src/schema/gen, src/sim/gen: JavaScript + .d.ts, buf.gen.yaml)
 * and what they import in turn. Following the imports instead of listing directories keeps
 * the SDK package to what it uses, and an import of a file that exists nowhere fails here,
 * not in a user's process.
 */
function copyImported(out) {
  const src = join(root, 'src');
  const todo = listFiles(out).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
  const missing = [];
  while (todo.length > 0) {
    const file = todo.pop();
    const text = readFileSync(join(out, file), 'utf8');
    for (const m of text.matchAll(RELATIVE_IMPORT)) {
      const target = join(dirname(file), m[1]);
      // A .js file needs the module itself; a declaration file needs its declarations (our
      // own .d.ts keep the sources' './x.ts' specifiers, which TypeScript resolves to x.d.ts).
      const needed = file.endsWith('.d.ts') ? target.replace(/\.(js|ts)$/, '.d.ts') : target;
      if (existsSync(join(out, needed))) continue;
      if (!existsSync(join(src, needed))) {
        missing.push(`${file} imports ${m[1]}`);
        continue;
      }
      for (const sibling of new Set([needed, needed.replace(/\.d\.ts$/, '.js'), needed.replace(/\.js$/, '.d.ts')])) {
        if (existsSync(join(out, sibling)) || !existsSync(join(src, sibling))) continue;
        mkdirSync(dirname(join(out, sibling)), { recursive: true });
        copyFileSync(join(src, sibling), join(out, sibling));
        todo.push(sibling);
      }
    }
  }
  if (missing.length > 0) throw new Error(`imports of files that neither tsc emitted nor src/ has:\n  ${missing.join('\n  ')}`);
}

/** Paths of the files under `dir`, relative to it. */
function listFiles(dir, rel = '', out = []) {
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) listFiles(dir, path, out);
    else out.push(path);
  }
  return out;
}

/**
 * Temporary trees of a build that was killed (dist.tmp-<pid>, dist.old-<pid>). Only the holder
 * of the lock builds, so under the lock every one of them is abandoned.
 */
function removeLeftovers() {
  for (const t of TARGETS) {
    const parent = dirname(join(root, t.out));
    const base = `${t.out.split('/').pop()}.`;
    for (const name of readdirSync(parent)) {
      if (name.startsWith(`${base}tmp-`) || name.startsWith(`${base}old-`)) rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

/** Replaces `dest` by `fresh` with two renames: readers see one whole tree or the other. */
function swapIn(fresh, dest) {
  const old = `${dest}.old-${process.pid}`;
  if (existsSync(dest)) renameSync(dest, old);
  renameSync(fresh, dest);
  rmSync(old, { recursive: true, force: true });
}

try {
  await withLock(build);
} catch (err) {
  process.stderr.write(`build: ${err.message}\n`);
  process.exit(1);
}
