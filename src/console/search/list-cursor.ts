import { ConsoleError, ConsoleErrorCode } from '../errors.ts';

/**
 * The `after` cursor of entity lists: the last item's position in list order (its lowercased
 * name and creation number), base64url-encoded JSON. Opaque to clients.
 */
export interface ListCursor {
  readonly text: string;
  readonly seq: number;
}

export function encodeCursor(text: string, seq: number): string {
  return Buffer.from(JSON.stringify([text, seq]), 'utf8').toString('base64url');
}

/** Throws ConsoleError BAD_REQUEST for anything encodeCursor did not make. */
export function decodeCursor(cursor: string): ListCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && Number.isSafeInteger(value[1])) {
      return { text: value[0], seq: value[1] as number };
    }
  } catch {
    // reported below
  }
  throw new ConsoleError(ConsoleErrorCode.BAD_REQUEST, 'after: not a cursor from a previous page (pass the "next" value unchanged)');
}
