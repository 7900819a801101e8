import { LabelSelectorError, parseLabelSelector as parseSelector, type LabelSelector } from '../core/index.ts';
import { SdkInvalidArgumentError } from './errors.ts';

export type { LabelSelector, LabelRequirement } from '../core/index.ts';

/**
 * Parses the label selector syntax kubectl accepts (`-l`): comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. Throws
 * SdkInvalidArgumentError naming the requirement that does not parse.
 */
export function parseLabelSelector(text: string): LabelSelector {
  try {
    return parseSelector(text);
  } catch (err) {
    if (err instanceof LabelSelectorError) throw new SdkInvalidArgumentError('labelSelector', `${JSON.stringify(err.requirement)}: ${err.problem}`, { cause: err });
    throw err;
  }
}
