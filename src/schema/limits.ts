/**
 * Message size bounds. NATS refuses a publish above the server's max_payload (1 MiB by
 * default); kubemeta keeps messages well below so that headers, a smaller configured limit or
 * one large object never push a publish over it.
 */

/** nats-server's default max_payload. */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Default bound for one replay chunk or live batch message. */
export const DEFAULT_MAX_CHUNK_BYTES = 256 * 1024;

/** Smallest bound a client may ask for: below this, per-message overhead dominates. */
export const MIN_CHUNK_BYTES = 4 * 1024;
