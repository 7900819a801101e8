import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Waits until the server has the subscriptions made so far (a flush). A connection that drops
 * meanwhile rejects the flush; the client makes every subscription again on reconnecting, so
 * that is no failure of the caller's start: it is not passed on. (A start that threw here left
 * serve's bus half started, and as an unhandled rejection stopped the process when a chaos
 * schedule killed nats-server during a start.)
 */
export async function subscriptionsSent(nc: NatsConnection): Promise<void> {
  try {
    await nc.flush();
  } catch {
    // disconnected (or closing): see above
  }
}
