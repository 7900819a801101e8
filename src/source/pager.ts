import type { KubeApiClient } from './api-client.ts';
import { malformedResponseError } from './errors.ts';
import type { RawObject } from './objects.ts';

export interface ListPage {
  readonly items: readonly RawObject[];
  /** The list's resourceVersion (the same on every page of one LIST). */
  readonly resourceVersion: string;
  /** Objects the server says are still to come, if it says (metadata.remainingItemCount). */
  readonly remaining: number | undefined;
}

/**
 * A paginated LIST (`limit` + `continue`), one page at a time, so a 150,000-pod cluster is
 * never held in one response. The first page is a consistent read (no resourceVersion), so
 * every page belongs to one snapshot; a 410 on a continue token surfaces as an 'expired'
 * SourceError and the caller lists again.
 */
export async function* listPages(
  client: KubeApiClient,
  path: string,
  options: { pageSize: number; signal?: AbortSignal },
): AsyncGenerator<ListPage> {
  let continueToken: string | undefined;
  do {
    // Only the first page takes a rate-limiter token (see KubeApiClient.getJson).
    const body = await client.getJson(path, { limit: options.pageSize, continue: continueToken }, options.signal, { rateLimited: continueToken === undefined });
    const page = asListPage(body, path);
    continueToken = page.continueToken;
    yield page;
  } while (continueToken);
}

function asListPage(body: unknown, path: string): ListPage & { continueToken: string | undefined } {
  const list = body as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown; remainingItemCount?: unknown } };
  if (typeof list !== 'object' || list === null || !Array.isArray(list.items)) {
    throw malformedResponseError(`LIST ${path}`, 'the response is not a list (no items array)');
  }
  const rv = list.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw malformedResponseError(`LIST ${path}`, 'the list has no metadata.resourceVersion');
  const token = list.metadata?.continue;
  const remaining = list.metadata?.remainingItemCount;
  return {
    items: list.items as RawObject[],
    resourceVersion: rv,
    remaining: typeof remaining === 'number' ? remaining : undefined,
    continueToken: typeof token === 'string' && token !== '' ? token : undefined,
  };
}
