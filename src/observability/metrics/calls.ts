/** Routed requests (count, end-to-end and upstream duration) and callers' own upstream credentials. */
import type { Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics } from './types.js';

/** From 100 µs to 2 minutes: a cached list, a local tool, a long-running upstream call. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function callMetrics(make: Instruments, fold: LabelFolding): Pick<Metrics, 'request' | 'callerCredential'> {
  const requests = make.counter({
    name: 'switchboard_requests_total',
    help: 'Requests routed to upstreams, by server, method, outcome (ok, or the stable error code) and profile ("" for the whole catalog).',
    labelNames: ['server', 'method', 'outcome', 'profile'],
  });
  const duration = make.histogram({
    name: 'switchboard_request_duration_seconds',
    help: 'Gateway-side duration of routed requests, end to end.',
    labelNames: ['server', 'method'],
    buckets: BUCKETS,
  });
  const upstreamDuration = make.histogram({
    name: 'switchboard_upstream_duration_seconds',
    help: 'The upstream part of routed requests.',
    labelNames: ['server', 'method'],
    buckets: BUCKETS,
  });
  const callerCredentials = make.counter({
    name: 'switchboard_caller_credentials_total',
    help: "Callers' own upstream credentials (credentials user-oauth / token-exchange / id-jag): sign-ins, refreshes and token exchanges (an ID-JAG obtained and redeemed counts as one), by outcome.",
    labelNames: ['server', 'event', 'outcome'],
  });
  return {
    request(labels, seconds, upstreamSeconds) {
      const server = fold.server(labels.server);
      const method = fold.method(labels.method);
      requests.inc({ server, method, outcome: labels.outcome, profile: fold.profile(labels.profile) });
      duration.observe({ server, method }, seconds);
      if (upstreamSeconds !== undefined) upstreamDuration.observe({ server, method }, upstreamSeconds);
    },
    callerCredential(name, event, outcome) {
      callerCredentials.inc({ server: fold.server(name), event, outcome });
    },
  };
}
