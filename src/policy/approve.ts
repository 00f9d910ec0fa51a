/**
 * The `approve` phase: after every deny and require, before any allow. The
 * first approve rule that applies decides "allowed once approved" and says
 * who approves, for how long, and what they are shown (its `message`,
 * evaluated on this request). A `when` that errors denies (fail closed),
 * like a deny's. While listing, an approve rule shows the entry: the caller
 * may use it with an approval.
 */
import { deny, type Evaluation } from './evaluation.js';
import type { ApprovalRequirement, CompiledRule, Decision } from './types.js';

export function approvePhase(ev: Evaluation, rules: CompiledRule[], scoped: (r: CompiledRule) => boolean): Decision | undefined {
  let decided: Decision | undefined;
  for (const rule of rules) {
    if (!scoped(rule) || !rule.approval) continue;
    const when = rule.when ? ev.test(rule.when) : true;
    if (typeof when === 'object') {
      ev.note(rule, 'condition-error', when.error, true);
      decided ??= {
        ...deny(ev, 'POLICY_DENIED', rule.id, `policy rule "${rule.id}" could not be evaluated on this request, so it denies`),
        conditionError: when.error,
      };
      if (!ev.explain) return decided;
      continue;
    }
    if (when === false) {
      ev.noteSkipped(rule, when);
      continue;
    }
    ev.note(rule, 'matched', when === 'unknown' ? 'depends on args: may need approval' : undefined, decided === undefined);
    decided ??= { allowed: true, ruleId: rule.id, reason: reasonOf(rule), trace: ev.trace, approval: requirementOf(ev, rule) };
    if (!ev.explain) return decided;
  }
  return decided;
}

function requirementOf(ev: Evaluation, rule: CompiledRule): ApprovalRequirement {
  const spec = rule.approval!;
  const requirement: ApprovalRequirement = { ruleId: rule.id, approvers: spec.approvers, timeoutMs: spec.timeoutMs, remember: spec.remember };
  if (!spec.message || ev.listing) return requirement;
  const message = ev.text(spec.message);
  if (message !== undefined) requirement.message = message;
  else requirement.messageError = `the message expression of "${rule.id}" did not evaluate to a string on this request`;
  return requirement;
}

function reasonOf(rule: CompiledRule): string {
  const who = rule.approval!.approvers.map((a) => (a.kind === 'self' ? 'the caller' : a.kind === 'group' ? `group ${a.name}` : a.id)).join(' or ');
  return `policy rule "${rule.id}" allows this once approved by ${who}${rule.description ? `: ${rule.description}` : ''}`;
}
