// The page's checked modules (`// @ts-check`: dom.js, cluster-page.js, result-chart.js) are type
// checked against the DOM and the API's own TypeScript types (tsconfig.web.json). The project's
// typecheck (tsconfig.json) has no DOM and skips JavaScript, so without this a field renamed in
// the API (views/cluster-view.ts) would break the page silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the web console’s checked modules typecheck against the DOM and the API types', () => {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.web.json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `tsc -p tsconfig.web.json failed:\n${run.stdout}${run.stderr}`);
});
