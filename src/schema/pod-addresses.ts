/**
 * Reads a pod's node and addresses straight from its encoded ResourceUpdate, without decoding
 * the message. A restart from a projector image restores pods from their stored bytes; the
 * network ranges need these four fields of each, and protobuf-es would decode every field of
 * every pod for them (its decoding took 3.7 s for the 488,000 objects of a 150,000-pod restore,
 * about 7.5 µs an object; this is a scan of the top-level fields).
 *
 * Field numbers are those of proto/kubemeta/v1/resources.proto: ResourceUpdate.pod = 1;
 * PodUpdate.node_name = 4, pod_ip = 6, pod_ips = 7, host_ip = 8 (the round-trip test in
 * pod-addresses.test.ts fails if they move).
 */
export interface PodAddresses {
  nodeName: string;
  podIp: string;
  podIps: string[];
  hostIp: string;
}

const utf8 = new TextDecoder();

function varint(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= b.length) throw new RangeError('truncated varint');
    const byte = b[at++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
}

/** The end of the field whose value starts at `at` (wire type `wire`). */
function skip(b: Uint8Array, at: number, wire: number): number {
  switch (wire) {
    case 0:
      return varint(b, at)[1];
    case 1:
      return at + 8;
    case 2: {
      const [n, start] = varint(b, at);
      return start + n;
    }
    case 5:
      return at + 4;
    default:
      throw new RangeError(`unsupported wire type ${wire}`);
  }
}

/** The pod's node and addresses, or undefined when `payload` is not a pod update. */
export function podAddresses(payload: Uint8Array): PodAddresses | undefined {
  let at = 0;
  let pod: Uint8Array | undefined;
  while (at < payload.length) {
    const [tag, next] = varint(payload, at);
    if (tag === ((1 << 3) | 2)) {
      const [n, start] = varint(payload, next);
      pod = payload.subarray(start, start + n);
      at = start + n;
    } else {
      at = skip(payload, next, tag & 7);
    }
  }
  if (pod === undefined) return undefined;
  const out: PodAddresses = { nodeName: '', podIp: '', podIps: [], hostIp: '' };
  at = 0;
  while (at < pod.length) {
    const [tag, next] = varint(pod, at);
    const field = Math.floor(tag / 8);
    if ((tag & 7) === 2 && (field === 4 || field === 6 || field === 7 || field === 8)) {
      const [n, start] = varint(pod, next);
      const text = utf8.decode(pod.subarray(start, start + n));
      if (field === 4) out.nodeName = text;
      else if (field === 6) out.podIp = text;
      else if (field === 7) out.podIps.push(text);
      else out.hostIp = text;
      at = start + n;
    } else {
      at = skip(pod, next, tag & 7);
    }
  }
  return out;
}
