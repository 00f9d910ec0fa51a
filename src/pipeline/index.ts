/**
 * The order every forwarded request goes through. Read this file to know
 * where a request is authenticated, resolved, authorised, limited and
 * forwarded. (Authentication happens at the edge, before a session exists:
 * the HTTP front or the stdio principal puts `ctx.principal` in place.)
 */
import type { Catalog } from '../catalog/catalog.js';
import type { AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimitStore } from '../ratelimit/store.js';
import type { ConnectionPool } from '../upstream/pool.js';
import { approve, type ApproveDeps } from './approve.js';
import { authorize, type DecisionMaker } from './authorize.js';
import { createPipeline, type Pipeline, type PipelineParts } from './chain.js';
import { checkCredentials, type CredentialSources } from './credentials.js';
import { forward } from './forward.js';
import { measure } from './measure.js';
import { rateLimit, type LimitSource } from './rate-limit.js';
import { record } from './record.js';
import { resolveRoute } from './resolve-route.js';
import { validateArguments } from './validate-arguments.js';
import { endTrace, startTrace } from './trace.js';
import type { Tracer } from '../observability/trace.js';

export interface PipelineDeps {
  catalog: Catalog;
  pool: ConnectionPool;
  /** The policy in force now; hot reload swaps it between requests. */
  policy: () => DecisionMaker & LimitSource;
  /** The version (hash) of the policy set in force, for the audit record. */
  policyVersion: () => string;
  limits: RateLimitStore;
  audit: AuditSink;
  metrics: Metrics;
  log: Logger;
  /** Resolves to undefined when tracing is off. */
  tracer?: Promise<Tracer | undefined>;
  /** Callers' own upstream credentials (servers with credentials "user-oauth" or "token-exchange"). */
  credentials: CredentialSources;
  /** Approvals for calls an `approve` rule decided. */
  approvals: Omit<ApproveDeps, 'policyVersion'>;
}

export function buildPipeline(deps: PipelineDeps): Pipeline {
  return createPipeline(pipelineParts(deps));
}

/** The stages, the terminal and the finishers, in order (ARCHITECTURE.md's order is tested against these). */
export function pipelineParts(deps: PipelineDeps): PipelineParts {
  return {
    stages: [
      // Opens this request's span (tracing on): everything after is inside it.
      ...(deps.tracer ? [startTrace(deps.tracer)] : []),
      // First: an unknown name gets the spec's error before anything else
      // runs, and policy needs the real server, original name and annotations.
      resolveRoute(deps.catalog),
      // Before policy: a rule over args may rely on the (approved) input schema.
      validateArguments(deps.catalog, (server, outcome) => deps.metrics.argumentsInvalid(server, outcome)),
      // Before the rate limit: a denied call must not spend tokens.
      authorize(deps.policy, (rule, effect) => deps.metrics.policyShadowDecision(rule, effect)),
      rateLimit(deps.policy, deps.limits, (server) => deps.metrics.rateLimited(server)),
      // After the rate limit: a caller over its limit cannot flood approvers with requests.
      approve({ ...deps.approvals, policyVersion: deps.policyVersion }),
      // Last before sending: a caller who must first connect their own account is asked to now.
      checkCredentials(deps.credentials),
    ],
    // Always last, like a router filter: the only stage that talks upstream.
    terminal: forward(deps.pool),
    // Runs in finally, for refused and failed requests too.
    finish: [record(deps.log, deps.audit, deps.policyVersion), measure(deps.metrics), ...(deps.tracer ? [endTrace()] : [])],
    onFinisherError: (finisher, err) => deps.log.error('a finisher failed; the answer stands', { finisher, error: (err as Error | undefined)?.message }),
  };
}

export type { Pipeline } from './chain.js';
export type { CallContext, RoutedMethod, SessionInfo } from './context.js';
