/** The audit sink's health: records it could not keep, and how far behind it is. */
import type { Instruments } from './instruments.js';
import type { Metrics, MetricsSources } from './types.js';

export function auditMetrics(make: Instruments, sources: MetricsSources): Pick<Metrics, 'auditDropped'> {
  const dropped = make.counter({
    name: 'switchboard_audit_records_dropped_total',
    help: 'Audit records the sink could not write because it fell behind or failed (each run of them is an audit-gap line in the chain).',
    labelNames: [],
  });
  dropped.inc({}, 0);
  make.gauge({ name: 'switchboard_audit_sink_up', help: '1 while the audit sink keeps up and can write, else 0 (see /readyz audit).', labelNames: [] }, (g) => {
    g.set({}, sources.auditHealth?.().state === 'ok' ? 1 : 0);
  });
  make.gauge({ name: 'switchboard_audit_queue_bytes', help: 'Audit bytes accepted but not yet written by the sink.', labelNames: [] }, (g) => {
    g.set({}, sources.auditHealth?.().queuedBytes ?? 0);
  });
  return {
    auditDropped(records) {
      dropped.inc({}, records);
    },
  };
}
