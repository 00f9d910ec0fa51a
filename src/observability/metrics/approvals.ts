/** Approvals: requested and decided calls by server and outcome, the calls waiting now, and the approvers' webhook. */
import type { Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics, MetricsSources } from './types.js';

export function approvalMetrics(make: Instruments, fold: LabelFolding, sources: MetricsSources): Pick<Metrics, 'approval' | 'approvalNotify'> {
  const total = make.counter({
    name: 'switchboard_approvals_total',
    help: 'Approvals by server and outcome: requested, granted, declined, expired, remembered (a yes to an identical call covered it).',
    labelNames: ['server', 'outcome'],
  });
  make.gauge({ name: 'switchboard_approvals_pending', help: 'Calls waiting for an approval now, on this replica.' }, (g) => {
    g.set(sources.approvalsPending?.() ?? 0);
  });
  const notify = make.counter({
    name: 'switchboard_approval_notifications_total',
    help: 'Webhook notifications to approvers: delivered, or the reason an attempt failed (status, timeout, network, dropped).',
    labelNames: ['outcome'],
  });
  return {
    approval(server, outcome) {
      total.inc({ server: fold.server(server), outcome });
    },
    approvalNotify(outcome) {
      notify.inc({ outcome });
    },
  };
}
