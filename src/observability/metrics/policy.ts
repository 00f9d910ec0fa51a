/** Policy decisions, what shadow rules would have done, rule conditions that failed to evaluate, and refused policy reloads. */
import { startAtZero, type Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics } from './types.js';

export function policyMetrics(
  make: Instruments,
  fold: LabelFolding,
): Pick<Metrics, 'policyDecision' | 'policyShadowDecision' | 'policyConditionError' | 'policyReloadRefused'> {
  const decisions = make.counter({
    name: 'switchboard_policy_decisions_total',
    help: 'Policy decisions on routed requests, by effect and deciding rule (default when none).',
    labelNames: ['effect', 'rule'],
  });
  const shadowDecisions = make.counter({
    name: 'switchboard_policy_shadow_decisions_total',
    help: 'Shadow rules (mode: shadow, not enforced) that would have acted on a routed request, by rule and its effect: a deny or allow that matched, a require that did not hold, a deny or require whose condition failed to evaluate.',
    labelNames: ['rule', 'effect'],
  });
  const conditionErrors = make.counter({
    name: 'switchboard_policy_condition_errors_total',
    help: 'Rule conditions that failed to evaluate on a request, by rule (a deny or require then denied).',
    labelNames: ['rule'],
  });
  const reloadsRefused = make.counter({
    name: 'switchboard_policy_reload_refused_total',
    help: 'Policy reloads refused, by reason (invalid, no-files, lost-files): the last good policy set stayed in force.',
    labelNames: ['reason'],
  });
  startAtZero(reloadsRefused, 'reason', ['invalid', 'no-files', 'lost-files']);
  return {
    policyDecision(effect, rule) {
      decisions.inc({ effect, rule: rule === undefined ? 'default' : fold.rule(rule) });
    },
    policyShadowDecision(rule, effect) {
      shadowDecisions.inc({ rule: fold.rule(rule), effect });
    },
    policyConditionError(rule) {
      conditionErrors.inc({ rule: fold.rule(rule) });
    },
    policyReloadRefused(reason) {
      reloadsRefused.inc({ reason });
    },
  };
}
