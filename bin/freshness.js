// Is the build in dist/ the build of the sources in this checkout? Shared by bin/kubemeta.js
// (which must never run a stale build silently) and scripts/build.mjs (which skips a build
// that would change nothing). Not a command: bin/ holds it because the published package
// ships bin/ and dist/ only, and only a checkout (a directory with src/) ever asks.
//
// The build records, at its start, the size and modification time of every input (below);
// dist is current when every input still has exactly those, and no input was added or
// removed. Equality, not "older than": a checkout of an older commit, a copy that keeps
// times (rsync -a, cp -p) or a deleted file all count as changes. A file edited while the
// build ran differs from what was recorded at its start, so that build is stale at once.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the build writes what it was built from (inside each dist, swapped in with it). */
export const STAMP = '.build-stamp';

/** The build's inputs besides src/: its configuration and the script itself. */
const CONFIG_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'packages/sdk/tsconfig.json', 'scripts/build.mjs'];

/**
 * path (relative to root) → "size:mtimeMs" of every build input now: everything under src/
 * except tests (they are not compiled; editing one must not send the command back to tsx),
 * and CONFIG_INPUTS.
 */
export function inputSnapshot(root) {
  const out = {};
  const walk = (rel) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.test.ts')) out[path] = describe(join(root, path));
    }
  };
  walk('src');
  for (const path of CONFIG_INPUTS) {
    try {
      out[path] = describe(join(root, path));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  return out;
}

function describe(file) {
  const st = statSync(file);
  return `${st.size}:${st.mtimeMs}`;
}

/**
 * Why the build in `distDir` is not the build of the inputs in `root`, or undefined when it
 * is: "dist/ has not been built", "src/sdk/x.ts changed since the build", ….
 */
export function staleReason(root, distDir = 'dist', now = inputSnapshot(root)) {
  let built;
  try {
    built = JSON.parse(readFileSync(join(root, distDir, STAMP), 'utf8')).inputs;
  } catch (err) {
    if (err.code === 'ENOENT') return `${distDir}/ has not been built`;
    return `${distDir}/${STAMP} is unreadable (${err.message})`;
  }
  for (const [path, desc] of Object.entries(now)) {
    if (built[path] === undefined) return `${path} was added since the build`;
    if (built[path] !== desc) return `${path} changed since the build`;
  }
  for (const path of Object.keys(built)) {
    if (now[path] === undefined) return `${path} was removed since the build`;
  }
  return undefined;
}
