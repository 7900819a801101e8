import { InvalidArgumentError } from '../core/index.ts';
import { MAX_NAME_LENGTH, checkMetaName, checkObjectKey, checkScope } from './keys.ts';
import type { CommitOptions, PendingUpdate } from './types.ts';

const STATES = new Set(['upsert', 'tombstone', 'remove']);
const MAX_RESOURCE_VERSION_LENGTH = 1024;

function checkUpdate(u: PendingUpdate, i: number): void {
  if (typeof u !== 'object' || u === null) throw new InvalidArgumentError(`updates[${i}]`, 'must be an object');
  checkObjectKey(u.objectKey);
  if (!(u.payload instanceof Uint8Array)) throw new InvalidArgumentError(`updates[${i}].payload`, 'must be a Uint8Array');
  if (!STATES.has(u.state)) {
    throw new InvalidArgumentError(`updates[${i}].state`, `must be upsert, tombstone or remove, got ${JSON.stringify(u.state)}`);
  }
  if (!Array.isArray(u.scopes) || u.scopes.length === 0) {
    throw new InvalidArgumentError(`updates[${i}].scopes`, 'must list at least one scope the update is published on');
  }
  const seen = new Set<string>();
  for (const scope of u.scopes) {
    checkScope(scope);
    if (seen.has(scope)) throw new InvalidArgumentError(`updates[${i}].scopes`, `lists ${JSON.stringify(scope)} twice`);
    seen.add(scope);
  }
  if (u.viewOnly !== undefined && typeof u.viewOnly !== 'boolean') {
    throw new InvalidArgumentError(`updates[${i}].viewOnly`, 'must be a boolean when given');
  }
  if (u.kind !== undefined && (typeof u.kind !== 'string' || u.kind.length > MAX_NAME_LENGTH)) {
    throw new InvalidArgumentError(`updates[${i}].kind`, `must be a string of at most ${MAX_NAME_LENGTH} characters`);
  }
}

/** Checks a commit's arguments before anything is queued; throws InvalidArgumentError. */
export function checkBatch(updates: readonly PendingUpdate[], options: CommitOptions): void {
  if (!Array.isArray(updates)) throw new InvalidArgumentError('updates', 'must be an array');
  updates.forEach(checkUpdate);
  for (const [kind, rv] of Object.entries(options.resourceVersions ?? {})) {
    if (kind.length === 0 || kind.length > MAX_NAME_LENGTH) {
      throw new InvalidArgumentError('resourceVersions', `kind ${JSON.stringify(kind)} must be 1-${MAX_NAME_LENGTH} characters`);
    }
    if (typeof rv !== 'string' || rv.length > MAX_RESOURCE_VERSION_LENGTH) {
      throw new InvalidArgumentError(`resourceVersions.${kind}`, `must be a string of at most ${MAX_RESOURCE_VERSION_LENGTH} characters`);
    }
  }
  if (options.atomic !== undefined && typeof options.atomic !== 'boolean') throw new InvalidArgumentError('atomic', 'must be a boolean when given');
  for (const [name, value] of Object.entries(options.meta ?? {})) {
    checkMetaName(name);
    if (value !== null && !(value instanceof Uint8Array)) {
      throw new InvalidArgumentError(`meta.${name}`, 'must be a Uint8Array, or null to delete it');
    }
  }
}
