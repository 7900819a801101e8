import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConsoleErrorCode } from '../errors.ts';

/**
 * Optional bearer-token auth for every `/api/` route. The presented token and the expected one
 * are compared as SHA-256 digests with `timingSafeEqual`: equal lengths whatever was sent, and
 * no early exit that a timing could reveal. A missing and a wrong token get the same 401, so
 * the answer tells nothing about the token.
 */
export function installBearerAuth(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' || !req.url.startsWith('/api/')) return;
    const header = req.headers.authorization;
    const presented = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : '';
    if (presented !== '' && timingSafeEqual(digest(presented), expected)) return;
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="kubemeta-console"')
      .send({ error: { code: ConsoleErrorCode.UNAUTHORIZED, message: 'this API needs a valid bearer token (Authorization: Bearer <token>)' } });
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * CORS, closed unless origins are listed: without an Access-Control-Allow-Origin header a
 * browser does not let another site's script read the answers. A listed origin gets it (and a
 * preflight answer for GET, and POST /api/query with a JSON body, with an Authorization header); any other origin gets nothing.
 */
export function installCors(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      await reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'authorization, content-type')
        .header('access-control-max-age', '600')
        .send();
    }
  });
}

/** Headers every answer carries: never cached (live data), never sniffed as another type. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  });
}
