import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

/**
 * A kubeconfig for the sim that kubectl and @kubernetes/client-node use as-is.
 *
 * Over http it sets `insecure-skip-tls-verify: true`: client-node 1.x refuses a plain-http
 * cluster without it, and kubectl accepts it. Over https it carries the sim's CA as
 * certificate-authority-data. The token is a placeholder: the sim accepts any bearer token or
 * none (and kubectl does not send tokens over plain http).
 */
export interface KubeconfigOptions {
  /** The sim's URL, e.g. http://127.0.0.1:6443. */
  readonly server: string;
  /** PEM of the CA to trust, for an https server. */
  readonly caPem?: string;
  /** Context, cluster and user name (default `kubemeta-sim`). */
  readonly name?: string;
  readonly token?: string;
  /** The context's default namespace. */
  readonly namespace?: string;
}

export function renderKubeconfig(options: KubeconfigOptions): string {
  const name = options.name ?? 'kubemeta-sim';
  const cluster: Record<string, unknown> = { server: options.server };
  if (options.caPem !== undefined) cluster['certificate-authority-data'] = Buffer.from(options.caPem).toString('base64');
  else if (options.server.startsWith('http://')) cluster['insecure-skip-tls-verify'] = true;
  const context: Record<string, unknown> = { cluster: name, user: name };
  if (options.namespace !== undefined) context['namespace'] = options.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user: { token: options.token ?? 'kubemeta-sim' } }],
    contexts: [{ name, context }],
    'current-context': name,
    preferences: {},
  });
}

/** Writes the kubeconfig to `path` (mode 0600, like kubectl's own), creating its directory. */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderKubeconfig(options), { mode: 0o600 });
}
