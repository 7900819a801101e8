import { setMaxListeners } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credsAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { systemClock, toError, type Logger } from '../core/index.ts';
import { nodeScope, formatScope } from '../schema/index.ts';
import { IssuedCredentials, StatusHub } from '../sdk/index.ts';
import { startConfiguredNatsServer, startNatsServer, type NatsServer } from '../testing/index.ts';
import { initNatsAuth, type NatsAuthFiles } from './nats-auth-command.ts';
import type { RunningSim } from './sim-command.ts';

/** The demo's NATS, and how each of its parts logs in to it. */
export interface DemoNats {
  readonly server: NatsServer;
  /** undefined with --no-auth (a nats-server without authentication, as before issue 15). */
  readonly files: NatsAuthFiles | undefined;
  /** Flags for `kubemeta serve`: its user and the credential issuer. */
  readonly serveFlags: Record<string, unknown>;
  /** Options of the cluster clients (console, the agents' node discovery, the demo's subscriber). */
  readonly clusterClient: Partial<ConnectionOptions>;
}

/**
 * nats-server in operator mode with keys from `kubemeta nats-auth init` (the default), or with no
 * authentication (`--no-auth`: for agents without credentials, e.g. examples/python-agent).
 */
export async function startDemoNats(secure: boolean, dir: string): Promise<DemoNats> {
  if (!secure) return { server: await startNatsServer({ ownProcessGroup: true }), files: undefined, serveFlags: {}, clusterClient: {} };
  const { files, setup } = await initNatsAuth({ dir: join(dir, 'nats-auth'), cluster: 'demo' });
  const server = await startConfiguredNatsServer(await readFile(files.natsConf, 'utf8'), { ownProcessGroup: true });
  return {
    server,
    files,
    serveFlags: {
      natsCredsFile: files.serviceCreds, requireScopedInboxes: true, issuerSigningKeyFile: files.issuerSigningKey, issuerAccount: setup.account.publicKey,
      issuerAgentDaemonset: 'kubemeta-agent',
    },
    clusterClient: { authenticator: credsAuthenticator(await readFile(files.clusterClientCreds)) },
  };
}

/** Longest wait for an agent pod and its first credentials. */
const START_TIMEOUT_MS = 60_000;

/** How often the demo's "kubelet" writes fresh projected tokens (a real one renews at 80 % of their life). */
const TOKEN_REFRESH_MS = 10 * 60_000;

/**
 * Issued NATS credentials for the demo's simulated node agents, as a DaemonSet of real agents
 * would get them: for each node, the token of the agent pod the sim's DaemonSet controller placed
 * there (from the sim's TokenRequest, audience kubemeta, written to a file as the kubelet writes
 * the projected volume), traded with `kubemeta serve`'s issuer and renewed by the SDK's
 * IssuedCredentials. The agents are simulated per node, not per pod: when churn replaces a
 * node's agent pod, the next refresh writes the new pod's token, and the next renewal uses it.
 */
export class DemoAgentCredentials {
  readonly #sim: RunningSim;
  readonly #dir: string;
  readonly #servers: readonly string[];
  readonly #cluster: string;
  readonly #bootstrapCredsFile: string;
  readonly #logger: Logger;
  readonly #byNode = new Map<string, IssuedCredentials>();
  readonly #timer: NodeJS.Timeout;
  /** Aborted with the demo's stop: one listener on it, however many agents wait on this one. */
  readonly #stop = new AbortController();

  constructor(options: { sim: RunningSim; dir: string; servers: readonly string[]; cluster: string; bootstrapCredsFile: string; logger: Logger; stop: AbortSignal }) {
    this.#sim = options.sim;
    this.#dir = options.dir;
    this.#servers = options.servers;
    this.#cluster = options.cluster;
    this.#bootstrapCredsFile = options.bootstrapCredsFile;
    this.#logger = options.logger;
    this.#timer = setInterval(() => void this.#refresh(), TOKEN_REFRESH_MS);
    this.#timer.unref();
    setMaxListeners(0, this.#stop.signal);
    if (options.stop.aborted) this.#stop.abort(options.stop.reason);
    else options.stop.addEventListener('abort', () => this.#stop.abort(options.stop.reason), { once: true });
  }

  /** Connection options of the agent of `node`: obtains its credentials first (retried until the demo stops or a minute passed). */
  async optionsFor(node: string): Promise<Partial<ConnectionOptions>> {
    // Bounded: a node removed while its agent starts has no agent pod and never gets credentials;
    // its start fails (the fleet logs it) instead of holding a start slot until the demo stops.
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(START_TIMEOUT_MS)]);
    await this.#writeToken(node, signal);
    const statusHub = new StatusHub({ scope: formatScope(nodeScope(node)), clock: systemClock, logger: this.#logger, capacity: 16 });
    const issued = new IssuedCredentials({
      cluster: this.#cluster, servers: this.#servers, tokenFile: this.#tokenFile(node), bootstrapCredsFile: this.#bootstrapCredsFile,
      natsOptions: undefined, requestTimeoutMs: 10_000, clock: systemClock, random: Math.random,
    });
    await issued.obtain(statusHub, signal);
    await this.#byNode.get(node)?.close();
    this.#byNode.set(node, issued);
    // No reconnect on renewal: the fleet's connection is not ours. nats-server closes it when the
    // old JWT expires, and nats.js reconnects with the renewed one through the authenticator.
    issued.startRenewal(statusHub, async () => undefined);
    return { authenticator: issued.authenticator, ignoreAuthErrorAbort: true };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#stop.abort();
    await Promise.all([...this.#byNode.values()].map((c) => c.close()));
    this.#byNode.clear();
  }

  #tokenFile(node: string): string {
    return join(this.#dir, `token-${Buffer.from(node).toString('hex')}`);
  }

  /** Writes the token of the agent pod on `node`, waiting for the DaemonSet controller to place it. */
  async #writeToken(node: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      const pod = this.#agentPod(node);
      if (pod) {
        const { token } = this.#sim.server.tokens.issue('kubemeta', 'kubemeta-agent', { audiences: ['kubemeta'], expirationSeconds: 3607, pod: { name: pod } });
        await writeFile(this.#tokenFile(node), token, { mode: 0o600 });
        return;
      }
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #agentPod(node: string): string | undefined {
    const pods = this.#sim.engine.model.list('Pod', { namespace: 'kubemeta', nodeName: node }).items;
    return pods.find((p) => p.object.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.name === 'kubemeta-agent'))?.object.metadata.name;
  }

  /** The kubelet's part: fresh tokens for live nodes; credentials of nodes that are gone are dropped. */
  async #refresh(): Promise<void> {
    for (const [node, issued] of [...this.#byNode]) {
      try {
        if (this.#sim.engine.model.get('Node', undefined, node) === undefined) {
          this.#byNode.delete(node);
          await issued.close();
          await rm(this.#tokenFile(node), { force: true });
        } else {
          await this.#writeToken(node, AbortSignal.timeout(5_000));
        }
      } catch (err) {
        this.#logger.debug({ err: toError(err), node }, 'demo: could not refresh an agent token');
      }
    }
  }
}
