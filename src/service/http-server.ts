import Fastify, { type FastifyInstance } from 'fastify';

export interface HealthSource {
  /** Process-level health: false only when the service has failed for good. */
  healthy(): boolean;
  /** Readiness with the details a person or a probe needs (sync progress, store trouble). */
  readiness(): { ready: boolean; [detail: string]: unknown };
  metrics(): Promise<{ contentType: string; text: string }>;
  status(): unknown;
}

/**
 * The service's HTTP face: /healthz (liveness), /readyz (ready after the initial sync; while
 * syncing it answers 503 with progress per kind), /metrics (Prometheus), /status (JSON).
 * Built separately from listen() so tests use inject() (fastify's habit).
 */
export function buildHttpServer(source: HealthSource): FastifyInstance {
  // Path parameters up to 600 characters: the web console mounted here (kubemeta serve
  // --console) takes a label `key=value` as one (fastify's default limit is 100).
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 600 } });
  app.get('/healthz', async (_req, reply) => {
    const ok = source.healthy();
    return reply.code(ok ? 200 : 500).send({ ok });
  });
  app.get('/readyz', async (_req, reply) => {
    const r = source.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await source.metrics();
    return reply.type(m.contentType).send(m.text);
  });
  app.get('/status', async () => source.status());
  return app;
}

/** Listens on `host:port` (port 0: any free port) and returns the address it got. */
export async function listenHttp(app: FastifyInstance, address: string): Promise<string> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at) || '127.0.0.1';
  const port = Number(address.slice(at + 1));
  await app.listen({ host, port });
  const bound = app.server.address();
  return typeof bound === 'object' && bound ? `http://${host}:${bound.port}` : `http://${address}`;
}
