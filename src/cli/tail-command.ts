import { readFile } from 'node:fs/promises';
import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { connectNatsWith } from '../service/index.ts';
import { clusterSubjects, decodeUpdateBatch, nodeScope, resourceUpdateToJson, CLUSTER_SCOPE, formatScope } from '../schema/index.ts';

export interface TailOptions {
  nats: string;
  cluster: string;
  node?: string;
  all?: boolean;
  summary?: boolean;
  /** A NATS .creds file (e.g. cluster-client.creds from `kubemeta nats-auth init`). */
  natsCredsFile?: string;
}

/**
 * `kubemeta tail`: prints the live stream as JSON lines, one per update, with its version,
 * prevVersion and scope; `--summary` prints one line a second with counts instead.
 */
export async function runTail(options: TailOptions, out: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  const subjects = clusterSubjects(options.cluster);
  const subject = options.node !== undefined ? subjects.scope(nodeScope(options.node)) : options.all ? subjects.clusterScope : subjects.clusterScope;
  // Retried until NATS answers, and cancelled by Ctrl-C: nats.js's own wait (waitOnFirstConnect)
  // cannot be cancelled, and `kubemeta tail` could not be stopped while NATS was unreachable.
  let nc: NatsConnection;
  try {
    const authenticator = options.natsCredsFile === undefined ? undefined : credsAuthenticator(await readFile(options.natsCredsFile));
    nc = await connectNatsWith(
      { servers: options.nats.split(','), name: 'kubemeta-tail', maxReconnectAttempts: -1, reconnectTimeWait: 500, ...(authenticator ? { authenticator } : {}) },
      { signal, urlsOption: '--nats' },
    );
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  const sub = nc.subscribe(subject);
  // A drain needs the server (it ends with a flush): with NATS down it fails, and the
  // connection, left reconnecting, kept `kubemeta tail` from exiting. Close it then.
  const stop = (): void => void nc.drain().catch(() => nc.close()).catch(() => undefined);
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  let updates = 0;
  let last = 0;
  let lastScope = formatScope(options.node !== undefined ? nodeScope(options.node) : CLUSTER_SCOPE);
  const timer = options.summary
    ? setInterval(() => out.write(`${new Date().toISOString()} scope=${lastScope} updates=${updates} lastVersion=${last}\n`), 1_000)
    : undefined;
  try {
    for await (const msg of sub) {
      if (msg.data.length === 0) continue; // a heartbeat: headers only (wire protocol §6.1)
      const batch = decodeUpdateBatch(msg.data);
      lastScope = formatScope(batch.scope);
      for (const u of batch.updates) {
        updates++;
        last = u.version;
        if (!options.summary) {
          out.write(JSON.stringify({ scope: lastScope, version: u.version, prevVersion: u.prevVersion, update: resourceUpdateToJson(u.update) }) + '\n');
        }
      }
    }
  } finally {
    if (timer) clearInterval(timer);
    await nc.closed();
  }
}
