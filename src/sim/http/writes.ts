import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterModel } from '../model/cluster-model.ts';
import { SimApiError } from '../model/errors.ts';
import { readJsonBody, readObjectBody, sendJson, statusJson } from './http-io.ts';
import { contentTypeOf, type Negotiated } from './media.ts';
import type { KubeObject, KubeObjectInput, StoredObject } from '../model/objects.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import { encodeList } from './protobuf/protobuf-codec.ts';
import { concat } from './protobuf/protobuf-wire.ts';
import { apiVersionOf, type ResourceInfo } from '../model/resources.ts';
import { sendApiObject, sendStored } from './respond.ts';
import type { ResourceRoute } from './routing.ts';

/**
 * Single-object requests: GET, POST (create), PUT (update), PATCH, DELETE, on the object and
 * on its `status` and `scale` subresources, with the real API server's answers and Status
 * errors. Like the real server, PUT and PATCH of the main resource keep the current status of
 * kinds that have a status subresource, and writes to `/status` change only the status.
 *
 * Bodies are JSON, YAML or Kubernetes protobuf (by Content-Type; patches are JSON patch
 * types only, as on the API server), answers in what the client's Accept negotiated.
 *
 * Not simulated: dry runs (refused with 400), server-side apply (415), garbage collection of
 * dependents on delete (the scenario's controllers do that, if anyone), admission defaults
 * beyond a Namespace's finalizer, label and phase and a Pod's initial phase.
 */
export interface ObjectRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: ResourceRoute;
  readonly query: URLSearchParams;
  readonly model: ClusterModel;
  /** The answer's encoding and representation, from the Accept header. */
  readonly negotiated: Negotiated;
}

export function getObject(r: ObjectRequest): StoredObject {
  const stored = r.model.get(r.route.info.kind, r.route.namespace, nameOf(r.route));
  if (!stored) throw notFound(r.route.info, nameOf(r.route));
  return stored;
}

export async function createObject(r: ObjectRequest): Promise<void> {
  refuseDryRun(r.query);
  const { info, namespace } = r.route;
  if (info.namespaced && namespace === undefined) {
    throw new SimApiError('MethodNotAllowed', `create ${info.plural} in a namespace: POST to .../namespaces/<namespace>/${info.plural}`);
  }
  const input = asObjectInput(await readObjectBody(r.req, expectedOf(info)), info);
  input.metadata = { ...input.metadata, namespace: checkNamespace(input, namespace) };
  if (input.metadata.resourceVersion) throw new SimApiError('BadRequest', 'resourceVersion should not be set on objects to be created');
  withCreateDefaults(input);
  answer(r, 201, r.model.create(input));
}

export async function updateObject(r: ObjectRequest): Promise<void> {
  refuseDryRun(r.query);
  const scaling = r.route.subresource === 'scale';
  const body = await readObjectBody(r.req, scaling ? SCALE : expectedOf(r.route.info));
  const current = getObject(r);
  if (scaling) {
    const scale = asRecord(body, 'Scale');
    const stored = r.model.update(withReplicas(current, replicasOf(scale), metadataOf(scale)['resourceVersion']));
    sendApiObject(r.res, 200, r.negotiated.encoding, scaleJson(stored));
    return;
  }
  const input = asObjectInput(body, r.route.info);
  if (input.metadata.name !== undefined && input.metadata.name !== current.object.metadata.name) {
    throw new SimApiError('BadRequest', `the name of the object (${String(input.metadata.name)}) does not match the name on the URL (${current.object.metadata.name})`);
  }
  input.metadata = { ...input.metadata, name: current.object.metadata.name, namespace: checkNamespace(input, r.route.namespace) };
  const next = r.route.subresource === 'status' ? withStatusOf(current.object, input) : keepStatus(r.route.info, input, current.object);
  answer(r, 200, r.model.update(next));
}

export async function patchObject(r: ObjectRequest): Promise<void> {
  refuseDryRun(r.query);
  const type = patchTypeOf(r.req.headers['content-type']);
  // Patch bodies are JSON whatever their patch type (patchTypeOf refused every other Content-Type).
  const patch = await readJsonBody(r.req);
  const current = getObject(r);
  if (r.route.subresource === 'scale') {
    const scale = asRecord(applyPatch(type, JSON.parse(scaleJson(current)), patch), 'Scale');
    const stored = r.model.update(withReplicas(current, replicasOf(scale), metadataOf(scale)['resourceVersion']));
    sendApiObject(r.res, 200, r.negotiated.encoding, scaleJson(stored));
    return;
  }
  const patched = asRecord(applyPatch(type, current.object, patch), r.route.info.kind) as KubeObjectInput;
  const meta = metadataOf(patched);
  // Identity is not patchable; a resourceVersion the patch sets is a precondition (409 if stale).
  patched.metadata = { ...meta, name: current.object.metadata.name, namespace: current.object.metadata.namespace, uid: current.object.metadata.uid };
  patched.apiVersion = current.object.apiVersion;
  patched.kind = current.object.kind;
  const next = r.route.subresource === 'status' ? withStatusOf(current.object, patched) : keepStatus(r.route.info, patched, current.object);
  answer(r, 200, r.model.update(next));
}

export async function deleteObject(r: ObjectRequest): Promise<void> {
  refuseDryRun(r.query);
  const options = await deleteOptions(r);
  const current = getObject(r);
  const expectedRv = options.preconditions?.resourceVersion;
  if (expectedRv !== undefined && expectedRv !== current.object.metadata.resourceVersion) {
    throw new SimApiError(
      'Conflict',
      `Operation cannot be fulfilled on ${resourceName(r.route.info)} "${current.object.metadata.name}": the ResourceVersion in the precondition (${expectedRv}) does not match the ResourceVersion in record (${current.object.metadata.resourceVersion}). The object might have been modified`,
      { name: current.object.metadata.name, kind: r.route.info.plural, group: r.route.info.group },
    );
  }
  const uid = options.preconditions?.uid;
  const deleted = r.model.delete(r.route.info.kind, r.route.namespace, current.object.metadata.name, uid ? { uid } : {});
  // Pods answer with their last state (a real pod is deleted gracefully); other kinds with a Success Status.
  if (r.route.info.kind === 'Pod') answer(r, 200, deleted);
  else sendApiObject(r.res, 200, r.negotiated.encoding, deletedStatus(r.route.info, deleted));
}

/** DELETE on a collection: deletes the objects `items` names and answers with them as a list. */
export async function deleteCollection(r: ObjectRequest, items: readonly StoredObject[]): Promise<void> {
  refuseDryRun(r.query);
  await deleteOptions(r);
  const deleted = items.map((s) => r.model.delete(s.kind, s.object.metadata.namespace, s.object.metadata.name));
  const info = r.route.info;
  const rv = String(r.model.resourceVersion);
  if (r.negotiated.encoding === 'protobuf') {
    sendJson(r.res, 200, concat(encodeList(apiVersionOf(info), info.listKind, { resourceVersion: rv }, deleted)), contentTypeOf(r.negotiated, true));
    return;
  }
  const body = `{"kind":"${info.listKind}","apiVersion":"${apiVersionOf(info)}","metadata":{"resourceVersion":"${rv}"},"items":[${deleted.map((s) => s.json).join(',')}]}`;
  sendJson(r.res, 200, body);
}

/** Writes answer with the object in the negotiated encoding (a Table if the client asked for one, as on the API server). */
function answer(r: ObjectRequest, code: number, stored: StoredObject): void {
  sendStored(r.res, code, r.negotiated, stored, r.model.clock.now());
}

const SCALE = { kind: 'Scale', apiVersion: 'autoscaling/v1' } as const;
const DELETE_OPTIONS = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' } as const;

function expectedOf(info: ResourceInfo): { kind: string; apiVersion: string } {
  return { kind: info.kind, apiVersion: apiVersionOf(info) };
}

interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
}

async function deleteOptions(r: ObjectRequest): Promise<DeleteOptions> {
  const body = await readObjectBody(r.req, DELETE_OPTIONS, { optional: true });
  const options = (body === undefined ? {} : asRecord(body, 'DeleteOptions')) as DeleteOptions;
  const policy = options.propagationPolicy ?? r.query.get('propagationPolicy') ?? undefined;
  if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
    throw new SimApiError('BadRequest', `propagationPolicy must be Orphan, Background or Foreground, got ${JSON.stringify(policy)}`);
  }
  return options;
}

function deletedStatus(info: ResourceInfo, deleted: StoredObject): string {
  const details = { name: deleted.object.metadata.name, group: info.group, kind: info.plural, uid: deleted.object.metadata.uid };
  return statusJson({ code: 200, reason: '', message: '', details, success: true }).replace(',"message":"","reason":""', '');
}

/** The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet, as JSON text. */
export function scaleJson(stored: StoredObject): string {
  const o = stored.object;
  const spec = (o['spec'] ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (o['status'] ?? {}) as { replicas?: number };
  const selector = Object.entries(spec.selector?.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const { name, namespace, uid, resourceVersion, creationTimestamp } = o.metadata;
  return JSON.stringify({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector },
  });
}

function withReplicas(current: StoredObject, replicas: number, resourceVersion: unknown): KubeObjectInput {
  const o = current.object;
  const rv = typeof resourceVersion === 'string' && resourceVersion !== '' ? resourceVersion : o.metadata.resourceVersion;
  return { ...o, metadata: { ...o.metadata, resourceVersion: rv }, spec: { ...(o['spec'] as object | undefined), replicas } };
}

function replicasOf(scale: Record<string, unknown>): number {
  const replicas = (scale['spec'] as { replicas?: unknown } | undefined)?.replicas ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new SimApiError('Invalid', `Scale.autoscaling "${String(metadataOf(scale)['name'] ?? '')}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
  }
  return replicas;
}

/** The body as an object of the route's kind; apiVersion and kind default to the route's, as the real decoder does. */
function asObjectInput(body: unknown, info: ResourceInfo): KubeObjectInput {
  const o = asRecord(body, info.kind) as Partial<KubeObjectInput>;
  const apiVersion = o.apiVersion ?? apiVersionOf(info);
  const kind = o.kind ?? info.kind;
  if (apiVersion !== apiVersionOf(info)) {
    throw new SimApiError('BadRequest', `the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionOf(info)})`);
  }
  if (kind !== info.kind) throw new SimApiError('BadRequest', `${kind} in version "${info.version}" cannot be handled as a ${info.kind}: send it to the ${kind} resource's path`);
  return { ...o, apiVersion, kind, metadata: { ...metadataOf(o) } } as KubeObjectInput;
}

function asRecord(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SimApiError('BadRequest', `the request body must be a JSON object (a ${what}), got ${Array.isArray(body) ? 'an array' : typeof body}`);
  }
  return body as Record<string, unknown>;
}

function metadataOf(o: Record<string, unknown>): Record<string, unknown> {
  const meta = o['metadata'];
  if (meta === undefined || meta === null) return {};
  if (typeof meta !== 'object' || Array.isArray(meta)) throw new SimApiError('BadRequest', 'metadata must be a JSON object');
  return meta as Record<string, unknown>;
}

function checkNamespace(input: KubeObjectInput, pathNamespace: string | undefined): string | undefined {
  const own = input.metadata.namespace;
  if (pathNamespace !== undefined && own !== undefined && own !== '' && own !== pathNamespace) {
    throw new SimApiError('BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
  }
  return pathNamespace;
}

/**
 * What the API server's create strategies set that clients leave out. Typed Go clients send
 * every non-pointer struct, so a `kubectl create namespace` arrives with `"status": {}`: the
 * phase is filled in when missing, not only when there is no status.
 */
function withCreateDefaults(input: KubeObjectInput): void {
  const status = asOptionalRecord(input['status']);
  if (input.kind === 'Namespace') {
    const name = input.metadata.name;
    if (typeof name === 'string') input.metadata = { ...input.metadata, labels: { ...input.metadata.labels, 'kubernetes.io/metadata.name': name } };
    const spec = asOptionalRecord(input['spec']);
    if (!Array.isArray(spec?.['finalizers']) || (spec['finalizers'] as unknown[]).length === 0) input['spec'] = { ...spec, finalizers: ['kubernetes'] };
    if (!status?.['phase']) input['status'] = { ...status, phase: 'Active' };
  }
  if (input.kind === 'Pod' && !status?.['phase']) input['status'] = { ...status, phase: 'Pending' };
}

function asOptionalRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** For kinds with a status subresource, writes to the main resource keep the current status. */
function keepStatus(info: ResourceInfo, input: KubeObjectInput, current: KubeObject): KubeObjectInput {
  if (!info.subresources.includes('status')) return input;
  const { status: _ignored, ...rest } = input;
  return current['status'] === undefined ? rest as KubeObjectInput : { ...rest, status: current['status'] } as KubeObjectInput;
}

/** A write to /status: the current object with the input's status (and its resourceVersion as precondition). */
function withStatusOf(current: KubeObject, input: KubeObjectInput): KubeObjectInput {
  const rv = input.metadata.resourceVersion || current.metadata.resourceVersion;
  return { ...current, metadata: { ...current.metadata, resourceVersion: rv }, status: input['status'] };
}

function refuseDryRun(query: URLSearchParams): void {
  if (query.has('dryRun')) throw new SimApiError('BadRequest', 'dryRun is not supported by kubemeta sim: run the command without --dry-run=server');
}

function nameOf(route: ResourceRoute): string {
  return route.name as string;
}

function resourceName(info: ResourceInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

function notFound(info: ResourceInfo, name: string): SimApiError {
  return new SimApiError('NotFound', `${resourceName(info)} "${name}" not found`, { name, kind: info.plural, group: info.group });
}
