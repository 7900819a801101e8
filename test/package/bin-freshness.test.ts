// bin/kubemeta.js never runs a stale build (issue 14): in a checkout it runs dist/ only when
// dist/ is the build of the sources there, else the sources through tsx, else it refuses with
// "run `npm run build`"; the published layout (no src/) runs dist/. Each case runs the real
// bin/kubemeta.js and bin/freshness.js in a small temporary tree whose dist/ and src/ CLIs say
// which of them ran.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir } from '../../src/testing/index.ts';

const root = join(import.meta.dirname, '..', '..');

/** bin/freshness.js (plain JavaScript, no declarations): the part this test uses. */
interface Freshness {
  STAMP: string;
  inputSnapshot(root: string): Record<string, string>;
  staleReason(root: string, distDir?: string): string | undefined;
}

let tmp: { path: string; remove: () => Promise<void> };
let fresh: Freshness;

before(async () => {
  tmp = await makeTempDir('bin-freshness');
  fresh = (await import(pathToFileURL(join(root, 'bin', 'freshness.js')).href)) as Freshness;
});

after(async () => {
  await tmp?.remove();
});

/** A checkout-shaped tree: bin/ (the real files), a dist/ CLI and a TypeScript src/ CLI. */
function makeTree(name: string, options: { src?: boolean; tsx?: boolean } = {}): string {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const f of ['kubemeta.js', 'freshness.js']) copyFileSync(join(root, 'bin', f), join(dir, 'bin', f));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "export async function main() { process.stdout.write('ran dist\\n'); return 0; }\n");
  if (options.src !== false) {
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    // Type annotations: only tsx can run this file on Node 20.
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "export async function main(argv: string[]): Promise<number> { process.stdout.write('ran src\\n'); return argv.length > 0 ? 0 : 1; }\n");
    writeFileSync(join(dir, 'src', 'cli', 'main.test.ts'), '// a test: not an input of the build\n');
  }
  // tsx, as a checkout has it after `npm ci`.
  if (options.tsx !== false) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Records the tree's inputs in dist/, as scripts/build.mjs does at the end of a build. */
function stamp(dir: string): void {
  writeFileSync(join(dir, 'dist', fresh.STAMP), JSON.stringify({ inputs: fresh.inputSnapshot(dir) }));
}

async function kubemeta(dir: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, 'bin', 'kubemeta.js'), 'version'], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('a current build runs from dist/; a test file edited since does not make it stale', async () => {
  const dir = makeTree('current');
  stamp(dir);
  writeFileSync(join(dir, 'src', 'cli', 'main.test.ts'), '// edited\n');
  assert.equal(fresh.staleReason(dir), undefined);
  const r = await kubemeta(dir);
  assert.equal(r.stdout, 'ran dist\n', r.stderr);
  assert.equal(r.code, 0);
});

test('sources changed since the build run through tsx, not the stale build', async () => {
  const dir = makeTree('edited');
  stamp(dir);
  const file = join(dir, 'src', 'cli', 'main.ts');
  writeFileSync(file, "export async function main(_argv: string[]): Promise<number> { process.stdout.write('ran src\\n'); return 0; }\n");
  assert.equal(fresh.staleReason(dir), 'src/cli/main.ts changed since the build');
  const r = await kubemeta(dir);
  assert.equal(r.stdout, 'ran src\n', r.stderr);
  assert.equal(r.code, 0);
});

test('a file added or removed since the build, or no build at all, is stale too', () => {
  const dir = makeTree('added-removed');
  assert.equal(fresh.staleReason(dir), 'dist/ has not been built');
  stamp(dir);
  writeFileSync(join(dir, 'src', 'cli', 'extra.ts'), 'export const x = 1;\n');
  assert.equal(fresh.staleReason(dir), 'src/cli/extra.ts was added since the build');
  stamp(dir);
  unlinkSync(join(dir, 'src', 'cli', 'extra.ts'));
  assert.equal(fresh.staleReason(dir), 'src/cli/extra.ts was removed since the build');
  stamp(dir);
  // Same content, only the time differs (a checkout of another commit and back): still a change.
  const file = join(dir, 'src', 'cli', 'main.ts');
  const later = new Date(Date.now() + 5_000);
  utimesSync(file, later, later);
  assert.equal(fresh.staleReason(dir), 'src/cli/main.ts changed since the build');
});

test('KUBEMETA_REQUIRE_BUILD=1 refuses a stale build with what to run', async () => {
  const dir = makeTree('required');
  const r = await kubemeta(dir, { KUBEMETA_REQUIRE_BUILD: '1' });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '', 'neither CLI ran');
  assert.match(r.stderr, /the build in dist\/ is not current \(dist\/ has not been built\).*run `npm run build`/);
});

test('a checkout without tsx (npm ci --omit=dev) refuses a stale build instead of running it', async () => {
  const dir = makeTree('no-tsx', { tsx: false });
  stamp(dir);
  writeFileSync(join(dir, 'src', 'cli', 'new.ts'), 'export {};\n');
  const r = await kubemeta(dir);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '', 'the stale dist/ did not run');
  assert.match(r.stderr, /src\/cli\/new\.ts was added since the build\) and tsx, which runs the sources instead, is not installed; run `npm run build`/);
});

test('the published layout (no src/) runs dist/ and never looks for a stamp or tsx', async () => {
  const dir = makeTree('published', { src: false, tsx: false });
  rmSync(join(dir, 'dist', fresh.STAMP), { force: true });
  const r = await kubemeta(dir, { KUBEMETA_REQUIRE_BUILD: '1' });
  assert.equal(r.stdout, 'ran dist\n', r.stderr);
  assert.equal(r.code, 0);
});
