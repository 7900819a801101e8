import { CLUSTER_SCOPE, parseScope, type Scope } from '../schema/index.ts';

/** What an error answer to an undecodable request echoes back (wire protocol §7). */
export interface RequestEcho {
  /** The request's request_id if it could be read (1–128 characters), else ''. */
  readonly requestId: string;
  /** The request's scope if it was valid, else `cluster`. */
  readonly scope: Scope;
}

const REQUEST_SCOPE_FIELD = 1;
const REQUEST_ID_FIELD = 5;
const MAX_REQUEST_ID = 128;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads request_id and scope from the bytes of a ReplayRequest that failed to decode or check,
 * as far as the protobuf framing goes, so the error answer can name the request it refuses. A
 * consumer matches answers by request_id; one whose request did not even parse gets ''.
 * Never throws.
 */
export function echoOfRequest(bytes: Uint8Array): RequestEcho {
  const fields = readStringFields(bytes, [REQUEST_SCOPE_FIELD, REQUEST_ID_FIELD]);
  const id = fields.get(REQUEST_ID_FIELD) ?? '';
  return { requestId: id.length <= MAX_REQUEST_ID ? id : '', scope: scopeOr(fields.get(REQUEST_SCOPE_FIELD)) };
}

function scopeOr(text: string | undefined): Scope {
  if (text === undefined) return CLUSTER_SCOPE;
  try {
    return parseScope(text);
  } catch {
    return CLUSTER_SCOPE;
  }
}

/** The last value of each wanted string field, up to the first framing error. */
function readStringFields(bytes: Uint8Array, wanted: readonly number[]): Map<number, string> {
  const out = new Map<number, string>();
  let pos = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35 && pos < bytes.length; shift += 7) {
      const b = bytes[pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const key = varint();
    if (key === undefined) break;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      if (skipVarint() === undefined) break;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || pos + len > bytes.length) break;
      if (wanted.includes(field)) {
        try {
          out.set(field, strictUtf8.decode(bytes.subarray(pos, pos + len)));
        } catch {
          out.delete(field);
        }
      }
      pos += len;
    } else {
      break;
    }
  }
  return out;

  function skipVarint(): number | undefined {
    while (pos < bytes.length) if ((bytes[pos++] as number) < 0x80) return pos;
    return undefined;
  }
}
