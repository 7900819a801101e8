import { AuthorizationError, UserAuthenticationExpiredError, connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { abortable, sleep } from '../core/index.ts';

/**
 * Opens a NATS connection for the agents or the query broker. `kubemeta agents` passes one of
 * its own (the service's connector: refused credentials fail at once, with what to check).
 */
export type NatsConnector = (options: ConnectionOptions, signal: AbortSignal | undefined) => Promise<NatsConnection>;

/**
 * The default connector: waits until a server answers (retried every `reconnectTimeWait`;
 * refused credentials are thrown at once), then nats.js reconnects forever. An abort ends the wait at once and
 * leaves nothing running. The wait is a loop of single attempts rather than nats.js's
 * `waitOnFirstConnect`, whose loop cannot be cancelled: a Ctrl-C while NATS was unreachable
 * left its timers and sockets running, and `kubemeta agents` did not exit.
 */
export async function connectUntilAnswered(options: ConnectionOptions, signal: AbortSignal | undefined): Promise<NatsConnection> {
  const attempt: ConnectionOptions = { ...options, waitOnFirstConnect: false };
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await abortable(connect(attempt), signal, (nc) => nc.close());
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // Refused credentials end the wait, as with nats.js's waitOnFirstConnect (which gives up
      // on the second refusal unless ignoreAuthErrorAbort); anything else is waited out.
      if ((err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) && options.ignoreAuthErrorAbort !== true) throw err;
      await sleep(options.reconnectTimeWait ?? 500, signal);
    }
  }
}
