import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { objectSchemaOf, listSchemaOf } from './protobuf-schemas.ts';
import { RESOURCES } from '../../model/resources.ts';

test('every kind the sim serves has a protobuf message and a list message', () => {
  for (const r of RESOURCES) {
    const object = objectSchemaOf(r.kind);
    const list = listSchemaOf(r.kind);
    assert.equal(object?.name, r.kind, `${r.kind} message`);
    assert.equal(list?.name, r.listKind, `${r.listKind} message`);
    // Kubernetes' lists: ListMeta metadata = 1, repeated items = 2.
    assert.deepEqual(list.fields.map((f) => [f.number, f.name]), [[1, 'metadata'], [2, 'items']]);
    assert.equal(list.fields[1]?.message?.typeName, object.typeName);
    assert.equal(object.fields.find((f) => f.number === 1)?.message?.typeName, 'k8s.meta.v1.ObjectMeta', `${r.kind} metadata is field 1`);
  }
});

/** Files under `dir`, by path relative to it. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

// scripts/gen-check.mjs checks src/schema/gen; this checks the sim's half of buf.gen.yaml.
test('src/sim/gen is what `npm run gen` makes of proto/k8s (run it and commit both after a .proto change)', () => {
  const root = new URL('../../../..', import.meta.url).pathname;
  const tmp = mkdtempSync(join(tmpdir(), 'kubemeta-sim-gen-'));
  try {
    const result = spawnSync(join(root, 'node_modules', '.bin', 'buf'), ['generate', '--template', 'buf.gen.yaml', '-o', tmp], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}` },
    });
    assert.equal(result.status, 0, `buf generate failed: ${result.error?.message ?? ''}${result.stdout}${result.stderr}`);
    const fresh = files(join(tmp, 'src/sim/gen'));
    const committed = files(join(root, 'src/sim/gen'));
    assert.ok(fresh.size > 0, 'buf generate wrote src/sim/gen');
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [path, bytes] of fresh) assert.ok(committed.get(path)?.equals(bytes), `src/sim/gen/${path} is stale: run npm run gen`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
