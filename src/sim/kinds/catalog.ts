import type { Rng } from '../../core/index.ts';

/**
 * Word lists and images the scenario draws from, so generated clusters read like real ones
 * (`payments-prod/checkout-api-7c5ddbdf54-x8kqz`) rather than `ns-1/deploy-2-...`.
 */
const TEAMS = [
  'payments', 'checkout', 'catalog', 'search', 'identity', 'billing', 'analytics', 'messaging',
  'inventory', 'shipping', 'orders', 'pricing', 'reviews', 'media', 'notifications', 'ads',
  'fraud', 'ledger', 'support', 'recommendations', 'geo', 'loyalty', 'partner', 'risk',
];
const ENVIRONMENTS = ['prod', 'staging', 'dev', 'qa', 'canary', 'perf'];
const COMPONENTS = [
  'api', 'web', 'worker', 'gateway', 'frontend', 'backend', 'consumer', 'scheduler', 'cache',
  'indexer', 'sync', 'auth', 'proxy', 'exporter', 'processor', 'ingest', 'router', 'store',
];
const DOMAINS = [
  'cart', 'order', 'user', 'session', 'profile', 'invoice', 'report', 'event', 'asset', 'quote',
  'stock', 'account', 'tax', 'refund', 'coupon', 'feed', 'email', 'sms', 'image', 'token',
];

export interface ImageChoice {
  readonly image: string;
  readonly port: number;
}

const WELL_KNOWN_IMAGES: readonly ImageChoice[] = [
  { image: 'nginx:1.27.2', port: 80 },
  { image: 'redis:7.4.1', port: 6379 },
  { image: 'memcached:1.6.32', port: 11211 },
  { image: 'quay.io/prometheus/prometheus:v2.55.0', port: 9090 },
  { image: 'grafana/grafana:11.3.0', port: 3000 },
];

export const SIDECAR_IMAGES = {
  envoy: 'docker.io/envoyproxy/envoy:v1.31.2',
  fluentBit: 'cr.fluentbit.io/fluent/fluent-bit:3.1.9',
  busybox: 'busybox:1.36.1',
  kubeProxy: 'registry.k8s.io/kube-proxy:v1.31.2',
  nodeExporter: 'quay.io/prometheus/node-exporter:v1.8.2',
  coredns: 'registry.k8s.io/coredns/coredns:v1.11.3',
} as const;

/** Namespace names: `<team>-<env>`, then `<team>-<env>-<n>` once the combinations run out. */
export function namespaceName(i: number): string {
  const combos = TEAMS.length * ENVIRONMENTS.length;
  const base = `${TEAMS[i % TEAMS.length]}-${ENVIRONMENTS[Math.floor(i / TEAMS.length) % ENVIRONMENTS.length]}`;
  return i < combos ? base : `${base}-${Math.floor(i / combos) + 1}`;
}

/** An application name, `<domain>-<component>`; the caller makes it unique per namespace. */
export function appName(rng: Rng): string {
  return `${rng.pick(DOMAINS)}-${rng.pick(COMPONENTS)}`;
}

/** Most apps run their own image from a private registry; a few run well-known ones. */
export function appImage(rng: Rng, namespace: string, app: string): ImageChoice {
  if (rng.chance(0.1)) return rng.pick(WELL_KNOWN_IMAGES);
  const version = `${rng.between(1, 4)}.${rng.between(0, 30)}.${rng.between(0, 12)}`;
  return { image: `registry.example.com/${namespace}/${app}:${version}`, port: 8080 };
}

/** The next patch version of an image (a rollout), or a new tag for images without semver. */
export function bumpImage(image: string): string {
  const m = /^(.*:v?\d+\.\d+\.)(\d+)$/.exec(image);
  if (m) return `${m[1]}${Number(m[2]) + 1}`;
  return `${image.replace(/:[^:/]*$/, '')}:build-${image.length}`;
}
