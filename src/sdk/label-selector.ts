import { LabelSelectorError, parseLabelSelector as parseSelector, type LabelRequirement as CoreRequirement } from '../core/index.ts';
import { SdkInvalidArgumentError } from './errors.ts';

/**
 * One requirement of a label selector the SDK accepts: `=`/`==` become `in [v]`, `!=` becomes
 * `notin [v]`. The parser is core's, shared with the simulator; the SDK refuses the numeric
 * `gt`/`lt` the API server also serves, so its type does not name them.
 */
export interface LabelRequirement extends Omit<CoreRequirement, 'operator'> {
  readonly operator: 'in' | 'notin' | 'exists' | 'doesNotExist';
}

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when every requirement holds (an empty selector matches everything); no labels is none. */
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

function isSdkRequirement(r: CoreRequirement): r is CoreRequirement & LabelRequirement {
  return r.operator !== 'gt' && r.operator !== 'lt';
}

/**
 * Parses the label selector syntax kubectl accepts (`-l`): comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. Throws
 * SdkInvalidArgumentError naming the requirement that does not parse.
 */
export function parseLabelSelector(text: string): LabelSelector {
  let parsed;
  try {
    parsed = parseSelector(text);
  } catch (err) {
    if (err instanceof LabelSelectorError) throw new SdkInvalidArgumentError('labelSelector', `${JSON.stringify(err.requirement)}: ${err.problem}`, { cause: err });
    throw err;
  }
  // Without numericComparisons core refuses `k>N`/`k<N`; checked again so the type holds.
  const requirements = parsed.requirements.filter(isSdkRequirement);
  if (requirements.length !== parsed.requirements.length) throw new SdkInvalidArgumentError('labelSelector', `${JSON.stringify(text)}: numeric comparisons (> and <) are not supported`);
  return { requirements, matches: (labels) => parsed.matches(labels) };
}
