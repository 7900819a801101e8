// The official Kubernetes Python client (Debian's python3-kubernetes, /usr/bin/python3) against
// the simulator: typed lists of a scenario's cluster, a create, and a watch that must receive
// ADDED, MODIFIED and DELETED. The client sends `watch=True` (Python's spelling of a boolean),
// which the API server reads as true; the sim once read it as a LIST, and the client's line
// reader waited forever for a newline after the list's single JSON document.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { startSimApiServer, type SimApiServer } from '../../src/sim/http/api-server.ts';
import { writeKubeconfig } from '../../src/sim/http/kubeconfig.ts';
import { ScenarioEngine } from '../../src/sim/scenario/scenario.ts';
import { makeTempDir, spawnProcess, type SpawnedProcess } from '../../src/testing/processes.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('../fixtures/sim-python-client.py', import.meta.url).pathname;

type Line = { step: string; [field: string]: unknown };

/** Fails with the fix when the client is missing (CI runs scripts/setup.sh first). */
function checkPythonClient(): void {
  const found = spawnSync(PYTHON, ['-c', 'import kubernetes; print(kubernetes.__version__)'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(`${PYTHON} cannot import kubernetes (Debian package python3-kubernetes): run scripts/setup.sh\n${found.stderr ?? String(found.error)}`);
  }
}

describe('the official Python client against the sim', () => {
  let engine: ScenarioEngine;
  let sim: SimApiServer;
  let dir: { path: string; remove: () => Promise<void> };
  let python: SpawnedProcess | undefined;

  before(async () => {
    checkPythonClient();
    engine = new ScenarioEngine({ seed: 3, nodes: 3, namespaces: 2, podsPerNode: 8, statefulSets: 1, cronJobs: 1, clock: new ManualClock(Date.parse('2025-03-01T12:00:00Z')) });
    engine.populate();
    sim = await startSimApiServer(engine.model);
    dir = await makeTempDir('sim-python');
    await writeKubeconfig(join(dir.path, 'kubeconfig'), { server: sim.url });
  });

  after(async () => {
    await python?.kill();
    await sim?.close();
    await dir?.remove();
  });

  it('lists typed objects, creates a pod and watches it through ADDED, MODIFIED and DELETED', async () => {
    const model = engine.model;
    // Counted before the script runs: it creates a namespace of its own.
    const counts = {
      namespaces: model.count('Namespace'),
      nodes: model.count('Node'),
      pods: model.count('Pod'),
      services: model.count('Service'),
      endpoints: model.count('Endpoints'),
      deployments: model.count('Deployment'),
      replicasets: model.count('ReplicaSet'),
      daemonsets: model.count('DaemonSet'),
    };
    python = spawnProcess(PYTHON, ['-u', SCRIPT, join(dir.path, 'kubeconfig'), 'python']);
    const proc = python;
    const lines = (): Line[] =>
      proc
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Line);
    const next = (what: string, predicate: (l: Line) => boolean): Promise<Line> =>
      waitFor(() => lines().find(predicate), { what: `${what} (python output so far:\n${proc.output()})`, timeoutMs: 30_000 });

    const listed = await next('the typed lists', (l) => l.step === 'list');
    assert.deepEqual(listed, { step: 'list', ...counts, paged: 5 });

    const created = await next('the created pod', (l) => l.step === 'created');
    const stored = model.get('Pod', 'python', 'from-python');
    assert.ok(stored);
    assert.deepEqual(created, { step: 'created', name: 'from-python', uid: stored.object.metadata.uid, phase: 'Pending' });

    await next('the ADDED event', (l) => l.step === 'event' && l['type'] === 'ADDED' && l['name'] === 'from-python');
    const running = model.update({ ...stored.object, metadata: { ...stored.object.metadata, labels: { 'made-by': 'python', seen: 'yes' } }, status: { phase: 'Running' } });
    const modified = await next('the MODIFIED event', (l) => l.step === 'event' && l['type'] === 'MODIFIED');
    assert.deepEqual(modified, { step: 'event', type: 'MODIFIED', name: 'from-python', phase: 'Running', labels: { 'made-by': 'python', seen: 'yes' }, resourceVersion: running.object.metadata.resourceVersion });
    model.delete('Pod', 'python', 'from-python');
    await next('the DELETED event', (l) => l.step === 'event' && l['type'] === 'DELETED');
    await next('the end of the script', (l) => l.step === 'done');
    assert.equal(await proc.exited, 0, proc.output());
    assert.deepEqual(lines().filter((l) => l.step === 'event').map((l) => l['type']), ['ADDED', 'MODIFIED', 'DELETED']);
  });
});
