import { z } from 'zod';

/**
 * How a kubemeta command logs in to NATS: the same options for `serve`, `console` and
 * `agents` (flags `--nats-user` … `--nats-tls-key`, KUBEMETA_NATS_* variables, config keys), so
 * that a console or an agent fleet reaches a NATS server that requires credentials as the
 * service does. The service module turns them into nats.js options (natsCredentialOptions).
 */
export const natsCredentialsShape = {
  natsUser: z.string().optional(),
  natsPassword: z.string().optional(),
  natsToken: z.string().optional(),
  natsNkeySeedFile: z.string().optional(),
  natsCredsFile: z.string().optional(),
  natsTlsCa: z.string().optional(),
  natsTlsCert: z.string().optional(),
  natsTlsKey: z.string().optional(),
};

type NatsCredentials = { [K in keyof typeof natsCredentialsShape]?: string | undefined };

/** The checks across these options (a superRefine step of each command's schema). */
export function checkNatsCredentials(c: NatsCredentials, ctx: z.RefinementCtx): void {
  if ((c.natsUser === undefined) !== (c.natsPassword === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['natsPassword'], message: 'NATS user and password go together' });
  }
  if ((c.natsTlsCert === undefined) !== (c.natsTlsKey === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['natsTlsKey'], message: 'a NATS client certificate needs its key (and the key its certificate)' });
  }
}
