/** Policy decisions, rule conditions that failed to evaluate, and refused policy reloads. */
import { startAtZero, type Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics } from './types.js';

export function policyMetrics(make: Instruments, fold: LabelFolding): Pick<Metrics, 'policyDecision' | 'policyConditionError' | 'policyReloadRefused'> {
  const decisions = make.counter({
    name: 'switchboard_policy_decisions_total',
    help: 'Policy decisions on routed requests, by effect and deciding rule (default when none).',
    labelNames: ['effect', 'rule'],
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
    policyConditionError(rule) {
      conditionErrors.inc({ rule: fold.rule(rule) });
    },
    policyReloadRefused(reason) {
      reloadsRefused.inc({ reason });
    },
  };
}
