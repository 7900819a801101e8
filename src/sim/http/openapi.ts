import { RESOURCES, apiVersionOf, type ResourceInfo } from '../model/resources.ts';

/**
 * Just enough OpenAPI for kubectl's validation of `kubectl create/apply -f` (on by default):
 *
 * - kubectl ≥ 1.27 reads `/openapi/v3` and the group-version documents it points to, and
 *   validates on the server (`?fieldValidation=Strict`) when the PATCH operation of the kind
 *   lists a `fieldValidation` query parameter. The documents here list those operations and
 *   no schemas; the sim accepts and ignores fieldValidation (it does not check fields).
 * - Older kubectl (1.20) validates on the client against `/openapi/v2`, which it only reads as
 *   protobuf (gnostic `openapi_v2.Document`). An empty document (no definitions) makes it skip
 *   validation of every kind: kubectl validates only kinds the document defines.
 * Without these, kubectl refuses with "failed to download openapi" unless --validate=false.
 */
export interface OpenApiResponse {
  readonly contentType: string;
  readonly body: string | Buffer;
}

// The '@' form clients send in Accept is not a valid Content-Type for Go's mime parser; real servers answer with this one.
const V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const TITLE = 'Kubernetes';
const VERSION = 'v1.32.0';

const GROUP_VERSION_PATHS = new Map<string, ResourceInfo[]>();
for (const r of RESOURCES) {
  const path = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
  GROUP_VERSION_PATHS.set(path, [...(GROUP_VERSION_PATHS.get(path) ?? []), r]);
}

const V3_ROOT = JSON.stringify({
  paths: Object.fromEntries([...GROUP_VERSION_PATHS.keys()].map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${VERSION}` }])),
});

export function openApiResponse(pathname: string, accept: string | undefined): OpenApiResponse | undefined {
  if (pathname === '/openapi/v3' || pathname === '/openapi/v3/') return { contentType: 'application/json', body: V3_ROOT };
  if (pathname.startsWith('/openapi/v3/')) {
    const resources = GROUP_VERSION_PATHS.get(pathname.slice('/openapi/v3/'.length).replace(/\/$/, ''));
    return resources ? { contentType: 'application/json', body: JSON.stringify(groupVersionDocument(resources)) } : undefined;
  }
  if (pathname === '/openapi/v2') {
    if ((accept ?? '').includes('protobuf')) return { contentType: V2_PROTOBUF, body: emptyV2Protobuf() };
    return { contentType: 'application/json', body: JSON.stringify({ swagger: '2.0', info: { title: TITLE, version: VERSION }, paths: {}, definitions: {} }) };
  }
  return undefined;
}

function groupVersionDocument(resources: readonly ResourceInfo[]): unknown {
  const paths: Record<string, unknown> = {};
  for (const r of resources) {
    const base = `/${r.group === '' ? 'api' : `apis/${r.group}`}/${r.version}/${r.namespaced ? 'namespaces/{namespace}/' : ''}${r.plural}/{name}`;
    const [group, version] = apiVersionOf(r).includes('/') ? apiVersionOf(r).split('/') : ['', r.version];
    paths[base] = {
      patch: {
        operationId: `patch${r.kind}`,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string' } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
        ],
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, version, kind: r.kind },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: TITLE, version: VERSION }, paths, components: { schemas: {} } };
}

/** gnostic openapi_v2.Document{swagger: "2.0", info: {title, version}, paths: {}} in protobuf. */
function emptyV2Protobuf(): Buffer {
  const info = Buffer.concat([field(1, Buffer.from(TITLE)), field(2, Buffer.from(VERSION))]);
  return Buffer.concat([field(1, Buffer.from('2.0')), field(2, info), field(8, Buffer.alloc(0))]);
}

/** A length-delimited protobuf field (wire type 2); the payloads here are all < 128 bytes. */
function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(number << 3) | 2, payload.length]), payload]);
}
