#!/usr/bin/env node
// Checks that the committed generated code (src/schema/gen from proto/kubemeta, src/sim/gen from
// proto/k8s) is exactly what the .proto files under proto/ produce, and that the schema passes `buf lint`. Run by CI; exits 1 with the
// list of differences and the command that fixes them. Works offline (buf ships in npm).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const GENS = ['src/schema/gen', 'src/sim/gen'];
const bin = join(root, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };

function run(args, what) {
  const result = spawnSync(join(bin, 'buf'), args, { cwd: root, env, encoding: 'utf8' });
  if (result.error !== undefined) fail(`${what}: cannot run buf (${result.error.message}); run \`npm ci\` first`);
  if (result.status !== 0) fail(`${what} failed:\n${result.stdout}${result.stderr}`);
}

function fail(message) {
  console.error(`gen-check: ${message}`);
  process.exit(1);
}

function files(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path));
    }
  };
  try {
    walk(dir);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  return out;
}

run(['lint'], 'buf lint (proto/ breaks the lint rules in buf.yaml)');

const tmp = mkdtempSync(join(tmpdir(), 'kubemeta-gen-check-'));
try {
  run(['generate', '--template', 'buf.gen.yaml', '-o', tmp], 'buf generate');
  const problems = [];
  const counts = [];
  for (const GEN of GENS) {
    const fresh = files(join(tmp, GEN));
    const committed = files(join(root, GEN));
    if (fresh.size === 0) fail(`buf generate produced nothing under ${GEN}; check buf.gen.yaml`);
    for (const [path, bytes] of fresh) {
      const old = committed.get(path);
      if (old === undefined) problems.push(`missing:  ${GEN}/${path}`);
      else if (!old.equals(bytes)) problems.push(`differs:  ${GEN}/${path}`);
    }
    for (const path of committed.keys()) if (!fresh.has(path)) problems.push(`stale:    ${GEN}/${path} (no .proto produces it)`);
    counts.push(`${GEN} (${fresh.size} files)`);
  }
  if (problems.length > 0) {
    fail(
      `the generated code does not match proto/:\n  ${problems.join('\n  ')}\n` +
        `Run \`npm run gen\` and commit ${GENS.join(' and ')} together with the .proto change.`,
    );
  }
  console.log(`gen-check: ${counts.join(', ')} match proto/, buf lint clean`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
