// The page's modules (web/*.js, `// @ts-check`) are type checked against the DOM and the API's
// own TypeScript types (tsconfig.web.json). The project's typecheck (tsconfig.json) has no DOM
// and skips JavaScript, so without this a field renamed in the API (views/cluster-view.ts)
// would break the page silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

function runTsc(project: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test('the web console’s modules typecheck against the DOM and the API types', () => {
  const run = runTsc('tsconfig.web.json');
  assert.equal(run.status, 0, `tsc -p tsconfig.web.json failed:\n${run.output}`);
});

test('the web typecheck fails a page module that reads a property the API type does not have', () => {
  // Guards the guard: with the same options as tsconfig.web.json, a module reading `e.fieldz` of
  // an EntityDetail must fail, and its twin reading `e.fields` must pass. If JSDoc types stopped
  // being read (checkJs off, an `any` leaking in), the test above would pass vacuously.
  const dir = mkdtempSync(join(tmpdir(), 'kubemeta-web-typecheck-'));
  try {
    const types = join(root, 'src/console/index.ts');
    const page = (field: string): string => [
      '// @ts-check',
      `/** @typedef {import(${JSON.stringify(types)}).EntityDetail} EntityDetail */`,
      '/** @param {EntityDetail} e */',
      `export const fieldNames = (e) => e.${field}.map((f) => f.name);`,
      '',
    ].join('\n');
    // ES modules, as the page's are (the repository's package.json says so for web/).
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'good.js'), page('fields'));
    writeFileSync(join(dir, 'broken.js'), page('fieldz'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(root, 'tsconfig.web.json'),
      // `types` is resolved from here otherwise: the repository's @types.
      compilerOptions: { typeRoots: [join(root, 'node_modules/@types')] },
      include: ['*.js'],
    }));
    const run = runTsc(join(dir, 'tsconfig.json'));
    assert.notEqual(run.status, 0, `tsc passed a module reading a missing property:\n${run.output}`);
    assert.match(run.output, /broken\.js\(4,\d+\): error TS2551: Property 'fieldz' does not exist on type 'EntityDetail'/);
    assert.doesNotMatch(run.output, /good\.js/, 'the correct twin must typecheck');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
