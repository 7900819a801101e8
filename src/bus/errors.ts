import { KubemetaError } from '../core/index.ts';

/** Publishing failed in a way the publisher cannot repair by itself (the message says why). */
export class PublishError extends KubemetaError {
  constructor(message: string, options?: ErrorOptions) {
    super('BUS_PUBLISH_FAILED', message, options);
  }
}
