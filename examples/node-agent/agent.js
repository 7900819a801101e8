#!/usr/bin/env node
// @ts-check
// A minimal node agent on @kubemeta/sdk: it keeps the metadata of its own node in step with
// kubemeta, turns the processes it sees into UPIDs and hydrates them to pod, container,
// namespace, services and owners, and logs what changes on its node.
//
//   node agent.js --nats nats://127.0.0.1:4222 --cluster demo --node node-00001 --simulate-processes
//
// Options fall back to the environment a DaemonSet would set (NODE_NAME from the downward
// API, KUBEMETA_NATS, KUBEMETA_CLUSTER). Plain JavaScript: it runs with `node` as it is, and
// `// @ts-check` makes an editor (and `npm run check`) type-check it against the SDK's types.
import { NodeAgentClient } from '@kubemeta/sdk';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** @typedef {import('@kubemeta/sdk').Hydration} Hydration */
/** @typedef {import('@kubemeta/sdk').Change} Change */

const { values: opts } = parseArgs({
  options: {
    nats: { type: 'string', default: process.env.KUBEMETA_NATS ?? 'nats://127.0.0.1:4222' },
    cluster: { type: 'string', default: process.env.KUBEMETA_CLUSTER ?? 'demo' },
    node: { type: 'string', default: process.env.NODE_NAME },
    'state-dir': { type: 'string', default: process.env.AGENT_STATE_DIR },
    // kubemeta demo's cluster is simulated: no process on this machine runs in its containers.
    // This registers one made-up process per container instead of reading /proc.
    'simulate-processes': { type: 'boolean', default: false },
  },
});

const stop = new AbortController();
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.once(signal, () => stop.abort());
/** Bounds a wait (connect, the first sync) and lets Ctrl-C end it. @param {number} ms */
const within = (ms) => AbortSignal.any([stop.signal, AbortSignal.timeout(ms)]);

/** @returns {Promise<number>} the exit code */
async function main() {
  const node = opts.node;
  if (!node) {
    console.error('agent: --node (or NODE_NAME) is required: the Kubernetes node this agent runs on');
    return 2;
  }
  const stateDir = opts['state-dir'];
  let agent;
  try {
    // connect retries registration while kubemeta is unavailable, until the signal aborts.
    agent = await NodeAgentClient.connect({
      servers: opts.nats,
      cluster: opts.cluster,
      node,
      agentInstanceId: agentInstanceId(stateDir),
      // With a state directory a restarted agent resumes from its saved state (a short replay
      // instead of a snapshot).
      ...(stateDir ? { persistDir: join(stateDir, 'kubemeta') } : {}),
      signal: within(60_000),
    });
  } catch (err) {
    if (stop.signal.aborted) return 0;
    throw err;
  }
  console.log(`connected to ${opts.nats} as the agent of node ${node} in cluster ${opts.cluster}: ASID ${agent.asid}`);
  // close() ends the changes() iterator below, which ends main.
  stop.signal.addEventListener('abort', () => void agent.close());
  // Taken before the first sync, so that no change falls between reading the state and the loop.
  const changes = agent.changes();
  try {
    await agent.whenInSync(within(60_000));
  } catch (err) {
    await agent.close();
    if (stop.signal.aborted) return 0;
    throw err;
  }
  // Live objects only: the state also retains what stopped within retentionMs (1 h), so that
  // telemetry recorded before still hydrates.
  const pods = agent.state.podsOnNode(node).length;
  const containers = agent.state.containers().length;
  console.log(`in sync at version ${agent.head}: ${pods} pods, ${containers} containers running on ${node}`);
  if (agent.state.node(node) === undefined) console.log(`(kubemeta knows no node ${node} now: is the name right?)`);

  const processes = new Processes(agent, opts['simulate-processes'] === true);
  processes.start();
  for await (const change of changes) {
    logChange(agent, change);
    processes.onChange(change);
  }
  processes.stop();
  const closed = await agent.closed;
  if (closed instanceof Error) {
    console.error(`agent: stopped: ${closed.message}`);
    return 1;
  }
  console.log(`closed; ${processes.count} processes were tracked`);
  return 0;
}

/**
 * The registry hands the same ASID back to the same (node, instance id) after a restart, so
 * the id must outlive the process: it is kept in the state directory when there is one.
 * @param {string | undefined} stateDir
 */
function agentInstanceId(stateDir) {
  if (!stateDir) return randomUUID();
  const file = join(stateDir, 'instance-id');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = randomUUID();
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, id);
    return id;
  }
}

/** @param {NodeAgentClient} agent @param {Change} change */
function logChange(agent, change) {
  if (change.type === 'overflow') {
    // This loop fell behind and `dropped` changes were discarded: re-read what matters.
    console.log(`missed ${change.dropped} changes; ${agent.state.pods().length} pods now`);
  } else if (change.type === 'snapshot') {
    console.log(`state replaced by a snapshot at version ${change.version} (${change.objects} objects)`);
  } else if (change.type === 'removed') {
    console.log(`${change.kind} ${change.uid} left this node (${change.reason})`);
  } else if ('podIp' in change.object) {
    console.log(`pod ${change.object.namespace}/${change.object.name} ${change.type} (version ${change.version})`);
  }
}

/**
 * The processes this agent has seen, as UPIDs (asid, pid, start time): what its telemetry
 * rows would carry. Names are not stored with them: they are hydrated from the SDK's state
 * when needed (here, once, to show them), so a row never holds stale names.
 */
class Processes {
  /** @type {Set<string>} "pid/startTimeTicks" of every registered process */
  #seen = new Set();
  /** @type {Set<string>} containers that have a made-up process (--simulate-processes) */
  #simulated = new Set();
  #nextPid = 100_000;
  /** @type {NodeJS.Timeout | undefined} */
  #timer;

  /** @param {NodeAgentClient} agent @param {boolean} simulate */
  constructor(agent, simulate) {
    this.agent = agent;
    this.simulate = simulate;
  }

  get count() {
    return this.#seen.size;
  }

  start() {
    if (this.simulate) {
      for (const c of this.agent.state.containers()) this.#simulateIn(c.containerId);
    } else {
      this.#scanProc();
      this.#timer = setInterval(() => this.#scanProc(), 5_000);
    }
  }

  stop() {
    clearInterval(this.#timer);
  }

  /** A container that started on this node gets its made-up process. @param {Change} change */
  onChange(change) {
    if (!this.simulate || change.type === 'overflow' || change.type === 'snapshot' || change.type === 'removed') return;
    if (change.type !== 'deleted' && 'containerId' in change.object) this.#simulateIn(change.object.containerId);
  }

  /** @param {number} pid @param {number} startTimeTicks @param {string} containerId */
  #track(pid, startTimeTicks, containerId) {
    const key = `${pid}/${startTimeTicks}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.agent.registerProcess(pid, startTimeTicks, containerId);
    const upid = { asid: this.agent.asid, pid, startTimeTicks };
    console.log(`pid ${pid} → ${describe(this.agent.hydrate(upid))}`);
  }

  /** @param {string} containerId */
  #simulateIn(containerId) {
    if (containerId === '' || this.#simulated.has(containerId)) return; // '': created, not started
    this.#simulated.add(containerId);
    this.#track(++this.#nextPid, 4242, containerId);
  }

  /**
   * On a real node: the processes in containers, from /proc. The container id is the 64-hex
   * id at the end of /proc/<pid>/cgroup (".../cri-containerd-<id>.scope", ".../docker-<id>.scope",
   * ".../crio-<id>.scope" or ".../<id>"), the start time is field 22 of /proc/<pid>/stat.
   */
  #scanProc() {
    let pids;
    try {
      pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
    } catch {
      return; // not Linux
    }
    for (const name of pids) {
      try {
        const id = /([0-9a-f]{64})(?:\.scope)?\s*$/m.exec(readFileSync(`/proc/${name}/cgroup`, 'utf8'))?.[1];
        if (!id) continue;
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // The command name (field 2) is in parentheses and may hold spaces: split after it,
        // where field 3 is [0] and field 22 is [19].
        const startTimeTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
        this.#track(Number(name), startTimeTicks, id);
      } catch {
        // The process ended while we looked, or it is not ours to read.
      }
    }
  }
}

/** @param {Hydration | undefined} h */
function describe(h) {
  // undefined: the container's metadata has not arrived yet; it hydrates once it does.
  if (!h) return 'no metadata yet';
  const owner = h.deployment ? `deployment ${h.deployment}` : h.owners[0] ? `${h.owners[0].kind} ${h.owners[0].name}` : 'no owner';
  const services = h.services.length > 0 ? `service ${h.services.join(',')}` : 'no service';
  return `${h.namespace}/${h.podName} container ${h.containerName} (${owner}; ${services}; pod IP ${h.podIp || '-'})${h.stopped ? ' [stopped]' : ''}`;
}

process.exitCode = await main();
