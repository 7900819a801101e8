import { KubemetaError } from '../core/index.ts';

export interface ConfigProblem {
  /** The option as the user wrote it: flag name, env variable or file key. */
  option: string;
  problem: string;
}

/**
 * The configuration cannot be used. Lists every problem at once (not just the first), each
 * naming the option and what it accepts, so a user fixes them in one go.
 */
export class ConfigError extends KubemetaError {
  declare readonly code: 'CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: ErrorOptions) {
    super('CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  - ${p.option}: ${p.problem}`).join('\n')}`, options);
    this.problems = Object.freeze([...problems]);
  }
}
