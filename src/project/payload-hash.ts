/**
 * A 53-bit fingerprint of an encoded payload, for change suppression: the projector keeps
 * one number per object instead of its bytes (450,000 objects at 150,000 pods). Two
 * independent 32-bit FNV-1a style lanes; a false "unchanged" needs both to collide for the
 * same object's consecutive states (about 1 in 2^53).
 */
export function payloadHash(bytes: Uint8Array): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** The same fingerprint over a string's UTF-16 code units (for keys built from several fields). */
export function textHash(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}
