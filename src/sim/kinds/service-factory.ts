import { freezeShared } from '../model/json.ts';
import type { KubeObject, KubeObjectInput } from '../model/objects.ts';

/**
 * Builders for Services and the two views of their membership that the endpoints
 * controllers maintain: Endpoints (core/v1, one object per service, at most 1000 addresses)
 * and EndpointSlices (discovery.k8s.io/v1, at most 100 endpoints per slice).
 *
 * Empty membership is served as Kubernetes serves it: an Endpoints object without `subsets`
 * and one placeholder EndpointSlice with `"endpoints": null`.
 */
type Json = Record<string, unknown>;

export interface ServicePort {
  name: string;
  port: number;
  protocol: string;
  targetPort: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceInput {
  readonly namespace: string;
  readonly name: string;
  /** undefined: a service without selector, whose endpoints someone else manages. */
  readonly selector: Record<string, string> | undefined;
  readonly ports: readonly ServicePort[];
  /** 'None' for a headless service. */
  readonly clusterIP: string;
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  readonly externalIPs?: readonly string[];
  readonly labels?: Record<string, string>;
  /** LoadBalancer only: the address the cloud's load balancer answers on. */
  readonly loadBalancerIP?: string;
}

export function buildService(input: ServiceInput): KubeObjectInput {
  const type = input.type ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: input.name, namespace: input.namespace, ...(input.labels ? { labels: input.labels } : {}) },
    spec: {
      clusterIP: input.clusterIP,
      clusterIPs: [input.clusterIP],
      ...(input.externalIPs ? { externalIPs: [...input.externalIPs] } : {}),
      ...(type !== 'ClusterIP' ? { externalTrafficPolicy: 'Cluster' } : {}),
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: input.ports.map((p) => ({ ...p })),
      ...(input.selector ? { selector: input.selector } : {}),
      sessionAffinity: 'None',
      type,
    },
    status: { loadBalancer: input.loadBalancerIP ? { ingress: [{ ip: input.loadBalancerIP, ipMode: 'VIP' }] } : {} },
  };
}

/** One pod's place in a service's membership. */
export interface Member {
  readonly ip: string;
  readonly ready: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly podName: string;
  readonly podUid: string;
  readonly namespace: string;
  /** Set for StatefulSet pods whose subdomain is this service: their DNS hostname. */
  readonly hostname: string | undefined;
  readonly subdomain?: string | undefined;
  /** Cache of this member's Endpoints address and EndpointSlice endpoint (see buildEndpoints). */
  readonly parts?: object;
}

const MAX_ENDPOINTS_ADDRESSES = 1000;
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** Orders members as the endpoints controller does: by IP, then by pod uid. */
export function compareMembers(a: Member, b: Member): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.podUid < b.podUid ? -1 : a.podUid > b.podUid ? 1 : 0;
}

/** The member's targetRef, one object for its Endpoints address and its slice endpoint. */
function targetRef(m: Member): Json {
  const parts = m.parts as MemberParts | undefined;
  if (!parts) return { kind: 'Pod', namespace: m.namespace, name: m.podName, uid: m.podUid };
  return (parts.targetRef ??= { kind: 'Pod', namespace: m.namespace, name: m.podName, uid: m.podUid });
}

const READY = freezeShared({ ready: true, serving: true, terminating: false });
const NOT_READY = freezeShared({ ready: false, serving: false, terminating: false });

/** The Endpoints object of `service` for `members` (already ordered by compareMembers). */
export function buildEndpoints(service: KubeObject, members: readonly Member[], ports: readonly Json[]): KubeObjectInput {
  const capped = members.slice(0, MAX_ENDPOINTS_ADDRESSES);
  const ready = capped.filter((m) => m.ready).map(addressOf);
  const notReady = capped.filter((m) => !m.ready).map(addressOf);
  const annotations = members.length > MAX_ENDPOINTS_ADDRESSES ? { 'endpoints.kubernetes.io/over-capacity': 'truncated' } : undefined;
  const subset: Json = { ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports };
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: service.metadata.name,
      namespace: service.metadata.namespace,
      labels: { ...service.metadata.labels, 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' },
      ...(annotations ? { annotations } : {}),
    },
    ...(capped.length > 0 ? { subsets: [subset] } : {}),
  };
}

/** An EndpointSlice of `service`; `members` null makes the placeholder of an empty service. */
export function buildEndpointSlice(service: KubeObject, name: string, members: readonly Member[] | null, ports: readonly Json[]): KubeObjectInput {
  const svc = service.metadata;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      generateName: `${svc.name}-`,
      namespace: svc.namespace,
      labels: {
        ...svc.labels,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': svc.name,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.name, uid: svc.uid, controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: members === null ? null : members.map((m) => cached('sliceEndpoint', m, sliceEndpoint)),
    ports: ports.length ? ports : null,
  };
}

/**
 * A member's entry in Endpoints and in an EndpointSlice, built once per Member: members are
 * immutable and the controller reuses them while their pod does not change.
 */
interface MemberParts {
  address?: Json;
  sliceEndpoint?: Json;
  targetRef?: Json;
}

function cached(which: 'address' | 'sliceEndpoint', m: Member, build: (m: Member) => Json): Json {
  const parts = m.parts as MemberParts;
  const part = parts[which];
  if (part === undefined) return (parts[which] = build(m));
  // Reused: share it, so the serializer keeps its JSON and an Endpoints write re-serializes
  // only the members that changed. (Not on first use: populate uses each member once.)
  return Object.isFrozen(part) ? part : freezeShared(part);
}

function addressOf(m: Member): Json {
  return cached('address', m, endpointAddress);
}

function endpointAddress(m: Member): Json {
  return { ip: m.ip, ...(m.hostname ? { hostname: m.hostname } : {}), ...(m.nodeName ? { nodeName: m.nodeName } : {}), targetRef: targetRef(m) };
}

function sliceEndpoint(m: Member): Json {
  return {
    addresses: [m.ip],
    conditions: m.ready ? READY : NOT_READY,
    ...(m.hostname ? { hostname: m.hostname } : {}),
    ...(m.nodeName ? { nodeName: m.nodeName } : {}),
    targetRef: targetRef(m),
    ...(m.zone ? { zone: m.zone } : {}),
  };
}

/**
 * The ports endpoints publish for `service`: each service port with its targetPort resolved
 * against the pods' container ports (a named targetPort such as "http" becomes a number).
 */
export function endpointPorts(service: KubeObject, podSpec: Json | undefined): Json[] {
  const ports = ((service['spec'] as Json | undefined)?.['ports'] ?? []) as ServicePort[];
  const out: Json[] = [];
  for (const p of ports) {
    const port = typeof p.targetPort === 'number' ? p.targetPort : p.targetPort === undefined ? p.port : namedPort(podSpec, p.targetPort);
    if (port === undefined) continue;
    out.push({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) });
  }
  return out;
}

function namedPort(podSpec: Json | undefined, name: string): number | undefined {
  const containers = (podSpec?.['containers'] ?? []) as Array<{ ports?: Array<{ name?: string; containerPort: number }> }>;
  for (const c of containers) {
    const hit = c.ports?.find((p) => p.name === name);
    if (hit) return hit.containerPort;
  }
  return /^\d+$/.test(name) ? Number(name) : undefined;
}
