import type { Clock } from '../core/index.ts';
import type { ScopeHeads } from '../bus/index.ts';

export interface LiveScopesOptions {
  /** Every scope's head (the log). */
  heads: { scopeHead(scope: string): number };
  /** The node scopes in use now (the projector: a Node or a pod refers to them). */
  liveNodeScopes: () => readonly string[];
  clock: Clock;
  /** How long a scope that went out of use still gets heartbeats (its last updates' consumers catch up). */
  graceMs: number;
}

/**
 * The scopes that get heartbeats: the cluster scope, every node scope in use, and those that
 * went out of use less than `graceMs` ago. Autoscaling replaces nodes all day; the log keeps
 * every scope's head for good (a returning node name must chain on it, docs/design.md §2), but
 * heartbeating every scope ever seen would grow without bound (5,000 replaced nodes: 1,000
 * more messages per second at a 5 s interval). Cost follows the live cluster.
 */
export class LiveScopes implements ScopeHeads {
  readonly #options: LiveScopesOptions;
  /** Node scopes seen in use, and when they were last seen so. */
  readonly #lastLive = new Map<string, number>();

  constructor(options: LiveScopesOptions) {
    this.#options = options;
  }

  scopes(): string[] {
    const now = this.#options.clock.now();
    for (const scope of this.#options.liveNodeScopes()) this.#lastLive.set(scope, now);
    const out = ['cluster'];
    for (const [scope, at] of this.#lastLive) {
      if (now - at <= this.#options.graceMs) out.push(scope);
      else this.#lastLive.delete(scope);
    }
    return out;
  }

  scopeHead(scope: string): number {
    return this.#options.heads.scopeHead(scope);
  }
}
