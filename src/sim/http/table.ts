import type { KubeObject, StoredObject } from '../model/objects.ts';

/**
 * Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). Columns and cells follow the real
 * API server's printers (pkg/printers/internalversion) for the sim's kinds; columns with
 * priority > 0 are shown by `kubectl get -o wide` only. Kinds without a printer get Name/Age.
 */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format?: string;
  readonly priority?: number;
  readonly description: string;
}

type Cell = string | number;
type Printer = { readonly columns: readonly Column[]; cells(o: Obj, now: number): Cell[] };
type Obj = KubeObject;

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const age: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };
const col = (n: string, type: Column['type'] = 'string', priority = 0): Column => ({ name: n, type, priority, description: n });
const workloadWide = [col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)];

const PRINTERS: Readonly<Record<string, Printer>> = {
  Pod: {
    columns: [name, col('Ready'), col('Status'), col('Restarts'), age, col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
    cells: podCells,
  },
  Node: {
    columns: [name, col('Status'), col('Roles'), age, col('Version'), col('Internal-IP', 'string', 1), col('External-IP', 'string', 1), col('OS-Image', 'string', 1), col('Kernel-Version', 'string', 1), col('Container-Runtime', 'string', 1)],
    cells: nodeCells,
  },
  Namespace: { columns: [name, col('Status'), age], cells: (o, now) => [o.metadata.name, str(get(o, 'status.phase'), 'Active'), ageOf(o, now)] },
  Service: { columns: [name, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), age, col('Selector', 'string', 1)], cells: serviceCells },
  Endpoints: { columns: [name, col('Endpoints'), age], cells: (o, now) => [o.metadata.name, endpointsOf(o), ageOf(o, now)] },
  EndpointSlice: { columns: [name, col('AddressType'), col('Ports'), col('Endpoints'), age], cells: endpointSliceCells },
  Deployment: {
    columns: [name, col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), age, ...workloadWide],
    cells: (o, now) => [o.metadata.name, `${num(o, 'status.readyReplicas')}/${num(o, 'spec.replicas')}`, num(o, 'status.updatedReplicas'), num(o, 'status.availableReplicas'), ageOf(o, now), ...workload(o)],
  },
  ReplicaSet: {
    columns: [name, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), age, ...workloadWide],
    cells: (o, now) => [o.metadata.name, num(o, 'spec.replicas'), num(o, 'status.replicas'), num(o, 'status.readyReplicas'), ageOf(o, now), ...workload(o)],
  },
  StatefulSet: {
    columns: [name, col('Ready'), age, col('Containers', 'string', 1), col('Images', 'string', 1)],
    cells: (o, now) => [o.metadata.name, `${num(o, 'status.readyReplicas')}/${num(o, 'spec.replicas')}`, ageOf(o, now), ...workload(o).slice(0, 2)],
  },
  DaemonSet: {
    columns: [name, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), age, ...workloadWide],
    cells: (o, now) => [
      o.metadata.name,
      num(o, 'status.desiredNumberScheduled'),
      num(o, 'status.currentNumberScheduled'),
      num(o, 'status.numberReady'),
      num(o, 'status.updatedNumberScheduled'),
      num(o, 'status.numberAvailable'),
      labelsText(get(o, 'spec.template.spec.nodeSelector')),
      ageOf(o, now),
      ...workload(o),
    ],
  },
  Job: {
    columns: [name, col('Status'), col('Completions'), col('Duration'), age, ...workloadWide],
    cells: (o, now) => [o.metadata.name, jobStatus(o), `${num(o, 'status.succeeded')}/${str(get(o, 'spec.completions'), '1')}`, jobDuration(o, now), ageOf(o, now), ...workload(o)],
  },
  CronJob: {
    columns: [name, col('Schedule'), col('Timezone'), col('Suspend'), col('Active', 'integer'), col('Last Schedule'), age, ...workloadWide],
    cells: (o, now) => [
      o.metadata.name,
      str(get(o, 'spec.schedule'), ''),
      str(get(o, 'spec.timeZone'), '<none>'),
      String(get(o, 'spec.suspend') === true),
      arr(get(o, 'status.active')).length,
      since(get(o, 'status.lastScheduleTime'), now, '<none>'),
      ageOf(o, now),
      ...workload(o, 'spec.jobTemplate.spec.template.spec'),
    ],
  },
  Lease: { columns: [name, col('Holder'), age], cells: (o, now) => [o.metadata.name, str(get(o, 'spec.holderIdentity'), ''), ageOf(o, now)] },
};

const GENERIC: Printer = { columns: [name, age], cells: (o, now) => [o.metadata.name, ageOf(o, now)] };
const COLUMNS_JSON = new Map<string, string>();

function printerOf(kind: string): Printer {
  return PRINTERS[kind] ?? GENERIC;
}

/** The columnDefinitions array of `kind`'s Table, as JSON text (built once per kind). */
export function tableColumnsJson(kind: string): string {
  let json = COLUMNS_JSON.get(kind);
  if (json === undefined) {
    json = JSON.stringify(printerOf(kind).columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 })));
    COLUMNS_JSON.set(kind, json);
  }
  return json;
}

/** One row (`{"cells":[...],"object":...}`) for `stored`, with the object as `includeObject` asks. */
export function tableRowJson(stored: StoredObject, includeObject: IncludeObject, version: string, nowMs: number): string {
  const cells = JSON.stringify(printerOf(stored.kind).cells(stored.object, nowMs));
  if (includeObject === 'None') return `{"cells":${cells}}`;
  const object = includeObject === 'Object' ? stored.json : partialObjectMetadataJson(stored, version);
  return `{"cells":${cells},"object":${object}}`;
}

/** The opening of a Table up to the rows array; close it with `]}`. */
export function tableHead(kind: string, version: string, listMeta: string): string {
  return `{"kind":"Table","apiVersion":"meta.k8s.io/${version}","metadata":${listMeta},"columnDefinitions":${tableColumnsJson(kind)},"rows":[`;
}

/** `stored` as a meta.k8s.io PartialObjectMetadata (what metadata-only clients and Table rows get). */
export function partialObjectMetadataJson(stored: StoredObject, version: string): string {
  return `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${version}","metadata":${JSON.stringify(stored.object.metadata)}}`;
}

function podCells(o: Obj, now: number): Cell[] {
  const statuses = arr(get(o, 'status.containerStatuses'));
  const sidecars = arr(get(o, 'spec.initContainers')).filter((c) => get(c, 'restartPolicy') === 'Always');
  const total = arr(get(o, 'spec.containers')).length + sidecars.length;
  const initStatuses = arr(get(o, 'status.initContainerStatuses'));
  const ready = [...statuses, ...initStatuses.filter((s) => sidecars.some((c) => get(c, 'name') === get(s, 'name')))].filter((s) => get(s, 'ready') === true).length;
  let restarts = 0;
  let lastRestart: unknown;
  for (const s of [...initStatuses, ...statuses]) {
    restarts += Number(get(s, 'restartCount') ?? 0);
    const finished = get(s, 'lastState.terminated.finishedAt');
    if (typeof finished === 'string' && (typeof lastRestart !== 'string' || finished > lastRestart)) lastRestart = finished;
  }
  const restartText = typeof lastRestart === 'string' ? `${restarts} (${since(lastRestart, now, '')} ago)` : String(restarts);
  const gates = arr(get(o, 'spec.readinessGates'));
  const gateText = gates.length === 0 ? '<none>' : `${gates.filter((g) => arr(get(o, 'status.conditions')).some((c) => get(c, 'type') === get(g, 'conditionType') && get(c, 'status') === 'True')).length}/${gates.length}`;
  return [o.metadata.name, `${ready}/${total}`, podReason(o, initStatuses, statuses), restartText, ageOf(o, now), str(get(o, 'status.podIP'), '<none>'), str(get(o, 'spec.nodeName'), '<none>'), str(get(o, 'status.nominatedNodeName'), '<none>'), gateText];
}

/** The STATUS column: the pod phase refined by container states, as kubectl users know it. */
function podReason(o: Obj, initStatuses: unknown[], statuses: unknown[]): string {
  if (o.metadata.deletionTimestamp) return get(o, 'status.reason') === 'NodeLost' ? 'Unknown' : 'Terminating';
  let reason = str(get(o, 'status.reason'), str(get(o, 'status.phase'), 'Pending'));
  const initCount = arr(get(o, 'spec.initContainers')).length;
  for (let i = 0; i < initStatuses.length; i++) {
    const s = initStatuses[i];
    const terminated = get(s, 'state.terminated');
    if (terminated && get(terminated, 'exitCode') === 0) continue;
    if (terminated) return `Init:${str(get(terminated, 'reason'), `ExitCode:${String(get(terminated, 'exitCode'))}`)}`;
    const waiting = str(get(s, 'state.waiting.reason'), '');
    if (waiting !== '' && waiting !== 'PodInitializing') return `Init:${waiting}`;
    if (get(s, 'state.running') && get(s, 'started') === true) continue;
    return `Init:${i}/${initCount}`;
  }
  let running = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const s = statuses[i];
    const waiting = str(get(s, 'state.waiting.reason'), '');
    const terminated = get(s, 'state.terminated');
    if (waiting !== '') reason = waiting;
    else if (terminated) reason = str(get(terminated, 'reason'), `ExitCode:${String(get(terminated, 'exitCode'))}`);
    else if (get(s, 'state.running') && get(s, 'ready') === true) running = true;
  }
  return reason === 'Completed' && running ? 'Running' : reason;
}

function nodeCells(o: Obj, now: number): Cell[] {
  const ready = arr(get(o, 'status.conditions')).find((c) => get(c, 'type') === 'Ready');
  let status = ready === undefined ? 'Unknown' : get(ready, 'status') === 'True' ? 'Ready' : 'NotReady';
  if (get(o, 'spec.unschedulable') === true) status += ',SchedulingDisabled';
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .sort();
  const address = (type: string): string => str(get(arr(get(o, 'status.addresses')).find((a) => get(a, 'type') === type), 'address'), '<none>');
  const info = (field: string): string => str(get(o, `status.nodeInfo.${field}`), '<unknown>');
  return [o.metadata.name, status, roles.length > 0 ? roles.join(',') : '<none>', ageOf(o, now), info('kubeletVersion'), address('InternalIP'), address('ExternalIP'), info('osImage'), info('kernelVersion'), info('containerRuntimeVersion')];
}

function serviceCells(o: Obj, now: number): Cell[] {
  const type = str(get(o, 'spec.type'), 'ClusterIP');
  const ingress = arr(get(o, 'status.loadBalancer.ingress')).map((i) => str(get(i, 'ip'), str(get(i, 'hostname'), '')));
  const external = [...arr(get(o, 'spec.externalIPs')).map(String), ...ingress].filter((s) => s !== '');
  const externalText = external.length > 0 ? external.join(',') : type === 'LoadBalancer' ? '<pending>' : type === 'ExternalName' ? str(get(o, 'spec.externalName'), '<none>') : '<none>';
  const ports = arr(get(o, 'spec.ports')).map((p) => {
    const nodePort = get(p, 'nodePort');
    return `${String(get(p, 'port'))}${nodePort ? `:${String(nodePort)}` : ''}/${str(get(p, 'protocol'), 'TCP')}`;
  });
  return [o.metadata.name, type, str(get(o, 'spec.clusterIP'), '<none>'), externalText, ports.length > 0 ? ports.join(',') : '<none>', ageOf(o, now), labelsText(get(o, 'spec.selector'))];
}

function endpointsOf(o: Obj): string {
  const list: string[] = [];
  for (const subset of arr(get(o, 'subsets'))) {
    const ports = arr(get(subset, 'ports'));
    for (const a of arr(get(subset, 'addresses'))) {
      if (ports.length === 0) list.push(str(get(a, 'ip'), ''));
      for (const p of ports) list.push(`${str(get(a, 'ip'), '')}:${String(get(p, 'port'))}`);
    }
  }
  return abbreviate(list);
}

function endpointSliceCells(o: Obj, now: number): Cell[] {
  const ports = arr(get(o, 'ports')).map((p) => String(get(p, 'port') ?? ''));
  const addresses = arr(get(o, 'endpoints')).flatMap((e) => arr(get(e, 'addresses')).map(String));
  return [o.metadata.name, str(get(o, 'addressType'), ''), ports.length > 0 ? ports.join(',') : '<unset>', abbreviate(addresses), ageOf(o, now)];
}

/** Lists of addresses are cut after three, as the real printer does. */
function abbreviate(list: string[]): string {
  if (list.length === 0) return '<none>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}

function workload(o: Obj, podSpecPath = 'spec.template.spec'): Cell[] {
  const containers = arr(get(o, `${podSpecPath}.containers`));
  const selector = get(o, 'spec.selector.matchLabels');
  return [containers.map((c) => str(get(c, 'name'), '')).join(','), containers.map((c) => str(get(c, 'image'), '')).join(','), selector ? labelsText(selector) : '<none>'];
}

function jobStatus(o: Obj): string {
  const conditions = arr(get(o, 'status.conditions')).filter((c) => get(c, 'status') === 'True').map((c) => get(c, 'type'));
  if (conditions.includes('Complete')) return 'Complete';
  if (conditions.includes('Failed')) return 'Failed';
  if (o.metadata.deletionTimestamp) return 'Terminating';
  return get(o, 'spec.suspend') === true ? 'Suspended' : 'Running';
}

function jobDuration(o: Obj, now: number): string {
  const start = get(o, 'status.startTime');
  if (typeof start !== 'string') return '';
  const end = get(o, 'status.completionTime');
  return humanDuration((typeof end === 'string' ? Date.parse(end) : now) - Date.parse(start));
}

function labelsText(labels: unknown): string {
  if (typeof labels !== 'object' || labels === null) return '<none>';
  const entries = Object.entries(labels as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>';
}

function ageOf(o: Obj, now: number): string {
  return since(o.metadata.creationTimestamp, now, '<unknown>');
}

function since(timestamp: unknown, now: number, missing: string): string {
  if (typeof timestamp !== 'string') return missing;
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? missing : humanDuration(now - at);
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "5m12s", "3h", "2d4h", "3y". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

function get(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : fallback;
}

function num(o: Obj, path: string): number {
  const value = get(o, path);
  return typeof value === 'number' ? value : 0;
}
