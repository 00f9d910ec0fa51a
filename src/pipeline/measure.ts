/**
 * Counts and times every routed request for Prometheus. Runs in `finally`,
 * beside the audit record. Outcomes are `ok`, a stable error code, or
 * `upstream_error` for an upstream's own JSON-RPC error: a bounded set.
 */
import { GatewayError } from '../core/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Finisher } from './chain.js';

export function measure(metrics: Metrics): Finisher {
  return {
    name: 'measure',
    run(ctx) {
      const error = ctx.error;
      const outcome = error === undefined ? 'ok' : error instanceof GatewayError ? error.code : 'upstream_error';
      const seconds = (performance.now() - ctx.startedAt) / 1000;
      metrics.request(
        { server: ctx.target?.upstream.name, method: ctx.method, outcome, profile: ctx.session.profile },
        seconds,
        ctx.upstreamMs === undefined ? undefined : ctx.upstreamMs / 1000,
      );
      for (const entry of ctx.decision?.trace ?? []) if (entry.outcome === 'condition-error') metrics.policyConditionError(entry.ruleId);
      if (error instanceof GatewayError && (error.code === 'POLICY_DENIED' || error.code === 'INSUFFICIENT_SCOPE')) {
        metrics.policyDecision('deny', error.data.ruleId as string | undefined);
      } else if (ctx.decision?.allowed) {
        metrics.policyDecision('allow', ctx.decision.ruleId);
      }
    },
  };
}
