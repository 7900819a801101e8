/** Kubernetes' two timestamp formats, from a clock's milliseconds. */

/** `metav1.Time`: RFC 3339 with second precision (creationTimestamp, lastHeartbeatTime, startedAt). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `metav1.MicroTime`: microsecond precision (Lease renewTime, acquireTime). */
export function microTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  return `${iso.slice(0, 23)}000Z`;
}
