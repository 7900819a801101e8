#!/usr/bin/env node
// The kubemeta command: runs the compiled CLI, dist/kubemeta.mjs (the CLI bundled into one
// module) or dist/cli/main.js. The published package and the container image hold only those
// (no src/, no TypeScript loader).
//
// A git checkout has src/ too, and dist/ may be missing or older than the sources (edited,
// pulled, another branch). A stale build must never run as if it were current, so in a
// checkout dist/ runs only when it is exactly the build of the sources there
// (bin/freshness.js); otherwise the sources run through tsx, a devDependency that every
// checkout with `npm ci` has — that is the code in front of you, only slower to start.
// KUBEMETA_REQUIRE_BUILD=1 refuses instead (tests that prove the compiled CLI works set it),
// and so does a checkout without tsx (`npm ci --omit=dev`): "run npm run build".
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The compiled CLI: the one-file bundle (scripts/build.mjs, bundleCli: half the start time of
 * loading dist/cli/main.js and its ~900 modules), or the unbundled build where there is none.
 * @returns {Promise<(argv: string[]) => Promise<number>>}
 */
async function compiledMain() {
  if (existsSync(`${root}dist/kubemeta.mjs`)) return (await import('../dist/kubemeta.mjs')).main;
  return (await import('../dist/cli/main.js')).main;
}

/** @returns {Promise<(argv: string[]) => Promise<number>>} */
async function loadMain() {
  if (!existsSync(`${root}src`)) return compiledMain();
  const { staleReason } = await import('./freshness.js');
  const reason = staleReason(root);
  if (reason === undefined) return compiledMain();
  const refuse = (why) => {
    process.stderr.write(`kubemeta: the build in dist/ is not current (${reason})${why}; run \`npm run build\`\n`);
    process.exit(1);
  };
  if (process.env.KUBEMETA_REQUIRE_BUILD === '1') refuse(' and KUBEMETA_REQUIRE_BUILD=1 asks for it');
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    refuse(' and tsx, which runs the sources instead, is not installed');
  }
  register();
  return (await import('../src/cli/main.ts')).main;
}

const main = await loadMain();
process.exitCode = await main(process.argv);
// The command is done and has closed what it opened; the process ends when nothing is left in
// the event loop. Should a library keep a handle open (a socket, a timer), a stopped service
// must still exit — a supervisor waiting on it would otherwise kill it without its exit code.
// Unref'd: this timer never keeps the process alive itself.
setTimeout(() => {
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
  process.stderr.write(`kubemeta: still running 10 s after the command ended (open: ${left.join(', ') || 'timers'}); exiting\n`);
  process.exit();
}, 10_000).unref();
