import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { KeyPair } from '@nats-io/jwt';

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An nkey pair whose signatures come from node:crypto's Ed25519 instead of tweetnacl's pure
 * JavaScript: the same key, the same (deterministic) signatures, everything else delegated. The
 * issuer signs one JWT per agent credential on the service's main thread; tweetnacl took 56–65 ms
 * per JWT on our 2-core machines (it derives the key pair again for every sign, public key and
 * private key: three scalar multiplications in JavaScript per JWT), which
 * would stall the metadata pipeline whenever many agents start at once. The JWT itself is still
 * encoded by @nats-io/jwt. At construction a probe is signed both ways; if they ever differed,
 * the original pair is used.
 */
export function fastSigningKey(kp: KeyPair): KeyPair {
  const raw = (kp as KeyPair & { getRawSeed?: () => Uint8Array }).getRawSeed?.();
  if (!raw || raw.length !== 32) return kp;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  } catch {
    return kp;
  }
  const fast = (input: Uint8Array): Uint8Array => new Uint8Array(sign(null, input, key));
  const probe = new TextEncoder().encode('kubemeta signing probe');
  if (Buffer.compare(Buffer.from(fast(probe)), Buffer.from(kp.sign(probe))) !== 0) return kp;
  // tweetnacl derives the key pair again for the public and private key too: both once here.
  const publicKey = kp.getPublicKey();
  const privateKey = kp.getPrivateKey();
  return new Proxy(kp, {
    get(target, prop, receiver) {
      if (prop === 'sign') return fast;
      if (prop === 'getPublicKey') return () => publicKey;
      if (prop === 'getPrivateKey') return () => privateKey;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
