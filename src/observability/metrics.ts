/**
 * Every Prometheus metric Switchboard exports, composed from one file per
 * topic under metrics/ (calls, policy, limits, sessions, upstreams, contracts, approvals, tasks, audit), with
 * labels kept bounded by metrics/labels.ts. This is the only import of
 * prom-client: the topic files define their instruments through the narrow
 * interfaces of metrics/instruments.ts, implemented here.
 */
import client from 'prom-client';
import { auditMetrics } from './metrics/audit.js';
import { callMetrics } from './metrics/calls.js';
import { approvalMetrics } from './metrics/approvals.js';
import { taskMetrics } from './metrics/tasks.js';
import { contractMetrics } from './metrics/contracts.js';
import type { Instruments } from './metrics/instruments.js';
import { labelFolding } from './metrics/labels.js';
import { limitMetrics } from './metrics/limits.js';
import { policyMetrics } from './metrics/policy.js';
import { sessionMetrics } from './metrics/sessions.js';
import type { Metrics, MetricsOptions } from './metrics/types.js';
import { upstreamMetrics } from './metrics/upstreams.js';

export type { Metrics, MetricsOptions, MetricsSources, UpstreamView } from './metrics/types.js';

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const make = instrumentsOn(registry);
  const fold = labelFolding(options);
  return {
    contentType: registry.contentType,
    ...callMetrics(make, fold),
    ...policyMetrics(make, fold),
    ...limitMetrics(make, fold, options.sources),
    ...sessionMetrics(make, options.sources),
    ...upstreamMetrics(make, fold, options.sources),
    ...contractMetrics(make, fold, options.sources),
    ...approvalMetrics(make, fold, options.sources),
    ...taskMetrics(make, fold),
    ...auditMetrics(make, options.sources),
    render: () => registry.metrics(),
  };
}

/** prom-client instruments registered on `registry` (a registry per gateway: two in one process never share series). */
function instrumentsOn(registry: client.Registry): Instruments {
  return {
    counter: (spec) => new client.Counter({ ...spec, registers: [registry] }),
    histogram: (spec) => new client.Histogram({ ...spec, buckets: [...spec.buckets], registers: [registry] }),
    gauge(spec, read) {
      new client.Gauge({
        ...spec,
        registers: [registry],
        collect() {
          read(this);
        },
      });
    },
  };
}
