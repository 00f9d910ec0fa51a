/**
 * Every Prometheus metric Switchboard exports, with its labels and buckets in
 * one place; the only import of prom-client. Labels are bounded: server names
 * come from the configuration, methods from the routed set, rule ids from the
 * policy files, outcomes from the error catalog; anything else folds into
 * `other`. Principal ids, arguments and raw names never become labels.
 */
import client from 'prom-client';

/** From 100 µs to 2 minutes: a cached list, a local tool, a long-running upstream call. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const METHODS = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'completion/complete']);

export interface UpstreamView {
  name: string;
  state: string;
  restarts: number;
}

export interface MetricsSources {
  upstreams: () => readonly UpstreamView[];
  sessions: () => Record<string, number>;
  /** Open upstream connections per server (shared ones plus sessions' own). */
  connections: () => Record<string, number>;
  catalogCounts: () => Record<string, Record<string, number>>;
  /** Whether the shared rate-limit store is reachable; not given with the in-memory store. */
  rateLimitStoreUp?: () => boolean;
}

export interface Metrics {
  readonly contentType: string;
  /** One forwarded request, end to end, and the upstream's part of it. */
  request(labels: { server?: string; method: string; outcome: string; profile?: string }, seconds: number, upstreamSeconds?: number): void;
  policyDecision(effect: 'allow' | 'deny', rule: string | undefined): void;
  /** A rule's condition failed to evaluate on a request (a deny or require then denies: fail closed). */
  policyConditionError(rule: string): void;
  /** A policy reload refused (the last good set stays in force): invalid, no files left, or files lost. */
  policyReloadRefused(reason: 'invalid' | 'no-files' | 'lost-files'): void;
  rateLimited(server: string): void;
  /** A decision the shared rate-limit store could not make, answered by its fail mode. */
  rateLimitStoreFailure(failMode: 'open' | 'closed'): void;
  /** Callers' own upstream credentials: a sign-in, a refresh or a token exchange, and how it went. */
  callerCredential(server: string, event: 'signin' | 'refresh' | 'exchange', outcome: 'ok' | 'failed'): void;
  /** A message a stalled client stream did not carry: a log dropped, or a progress update replaced by a later one. */
  streamDropped(kind: 'log' | 'progress'): void;
  /** A client stream closed because its client stopped reading and its bounded queue filled. */
  streamClosedSlow(): void;
  /** An upstream stderr line cut at its bounded length. */
  stderrTruncated(server: string): void;
  /** A new session refused under gateway.limits: the principal's cap or the gateway's. */
  sessionRefused(reason: 'principal' | 'gateway'): void;
  /** An idle session closed to make room for a new one, under the same caps. */
  sessionEvicted(reason: 'principal' | 'gateway'): void;
  /** An idle session's child process (isolation "session") stopped at maxProcesses so another session could have one. */
  processReclaimed(server: string): void;
  render(): Promise<string>;
}

export function createMetrics(options: {
  /** The configured server names (read again when an unknown one shows up: a config reload may have added it). */
  servers: () => Iterable<string>;
  /** Configured profile names: the only values the `profile` label takes (besides "" for the whole catalog). */
  profiles?: readonly string[];
  ruleIds: () => readonly string[];
  sources: MetricsSources;
}): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  let servers = new Set(options.servers());
  const known = (name: string) => servers.has(name) || (servers = new Set([...servers, ...options.servers()])).has(name);
  const server = (name: string | undefined) => (name && known(name) ? name : 'other');
  const method = (name: string) => (METHODS.has(name) ? name : 'other');
  const profiles = new Set(options.profiles ?? []);
  const profile = (name: string | undefined) => (name === undefined ? '' : profiles.has(name) ? name : 'other');

  const requests = new client.Counter({
    name: 'switchboard_requests_total',
    help: 'Requests routed to upstreams, by server, method, outcome (ok, or the stable error code) and profile ("" for the whole catalog).',
    labelNames: ['server', 'method', 'outcome', 'profile'],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'switchboard_request_duration_seconds',
    help: 'Gateway-side duration of routed requests, end to end.',
    labelNames: ['server', 'method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const upstreamDuration = new client.Histogram({
    name: 'switchboard_upstream_duration_seconds',
    help: 'The upstream part of routed requests.',
    labelNames: ['server', 'method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const decisions = new client.Counter({
    name: 'switchboard_policy_decisions_total',
    help: 'Policy decisions on routed requests, by effect and deciding rule (default when none).',
    labelNames: ['effect', 'rule'],
    registers: [registry],
  });
  const conditionErrors = new client.Counter({
    name: 'switchboard_policy_condition_errors_total',
    help: 'Rule conditions that failed to evaluate on a request, by rule (a deny or require then denied).',
    labelNames: ['rule'],
    registers: [registry],
  });
  const reloadsRefused = new client.Counter({
    name: 'switchboard_policy_reload_refused_total',
    help: 'Policy reloads refused, by reason (invalid, no-files, lost-files): the last good policy set stayed in force.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['invalid', 'no-files', 'lost-files']) reloadsRefused.inc({ reason }, 0);
  const limited = new client.Counter({
    name: 'switchboard_rate_limited_total',
    help: 'Requests refused by a rate limit.',
    labelNames: ['server'],
    registers: [registry],
  });
  const storeFailures = new client.Counter({
    name: 'switchboard_rate_limit_store_failures_total',
    help: 'Rate-limit decisions the shared store (Redis) could not make, answered by its fail mode.',
    labelNames: ['fail_mode'],
    registers: [registry],
  });
  const storeUp = options.sources.rateLimitStoreUp;
  // Registered only with a shared store: an unlabelled gauge would otherwise read 0 and look like an outage.
  if (storeUp) {
    new client.Gauge({
      name: 'switchboard_rate_limit_store_up',
      help: '1 when the shared rate-limit store (Redis) is reachable, else 0; absent with the in-memory store.',
      registers: [registry],
      collect() {
        this.set(storeUp() ? 1 : 0);
      },
    });
  }
  const callerCredentials = new client.Counter({
    name: 'switchboard_caller_credentials_total',
    help: "Callers' own upstream credentials (credentials user-oauth / token-exchange): sign-ins, refreshes and token exchanges, by outcome.",
    labelNames: ['server', 'event', 'outcome'],
    registers: [registry],
  });
  const sessionsRefused = new client.Counter({
    name: 'switchboard_sessions_refused_total',
    help: 'New 2025-era sessions refused (TOO_MANY_SESSIONS), by the cap reached: "principal" (429) or "gateway" (503).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const sessionsEvicted = new client.Counter({
    name: 'switchboard_sessions_evicted_total',
    help: 'Idle sessions closed to admit a new one, by the cap reached: "principal" (its own oldest) or "gateway" (the heaviest holder\'s).',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Both series exist from the start, so an alert on their rate sees 0 rather than nothing.
  for (const reason of ['principal', 'gateway']) {
    sessionsRefused.inc({ reason }, 0);
    sessionsEvicted.inc({ reason }, 0);
  }
  const processesReclaimed = new client.Counter({
    name: 'switchboard_upstream_processes_reclaimed_total',
    help: 'Idle sessions\' child processes (isolation "session") stopped at maxProcesses so another session could have one.',
    labelNames: ['server'],
    registers: [registry],
  });
  const streamDropped = new client.Counter({
    name: 'switchboard_stream_dropped_messages_total',
    help: 'Messages not sent to a client that stopped reading its stream: log messages dropped, progress updates replaced by a later one (kind).',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of ['log', 'progress']) streamDropped.inc({ kind }, 0);
  const streamClosedSlow = new client.Counter({
    name: 'switchboard_stream_closed_slow_total',
    help: 'Client streams closed because the client stopped reading and the bytes queued for it passed the bound.',
    registers: [registry],
  });
  const stderrTruncated = new client.Counter({
    name: 'switchboard_upstream_stderr_truncated_total',
    help: 'Upstream stderr lines cut at their bounded length (a child writing without line ends).',
    labelNames: ['server'],
    registers: [registry],
  });
  const restarts = new client.Counter({
    name: 'switchboard_upstream_restarts_total',
    help: 'Times an upstream connection was lost after it had been ready.',
    labelNames: ['server'],
    registers: [registry],
  });
  const seenRestarts = new Map<string, number>();
  // Rule ids change only when policies reload: keep a set per policy version.
  let ruleList: readonly string[] | undefined;
  let ruleSet = new Set<string>();
  const knownRules = () => {
    const current = options.ruleIds();
    if (current !== ruleList) [ruleList, ruleSet] = [current, new Set(current)];
    return ruleSet;
  };

  new client.Gauge({
    name: 'switchboard_sessions',
    help: 'Open downstream sessions, by transport and protocol era.',
    labelNames: ['transport', 'era'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, count] of Object.entries(options.sources.sessions())) {
        const [transport = 'other', era = 'other'] = key.split('/');
        this.set({ transport, era }, count);
      }
    },
  });
  new client.Gauge({
    name: 'switchboard_upstream_up',
    help: '1 when the upstream is ready, else 0.',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      for (const u of options.sources.upstreams()) {
        this.set({ server: server(u.name) }, u.state === 'ready' ? 1 : 0);
        // Restarts are counted here, at scrape time, from the upstream's own count.
        const before = seenRestarts.get(u.name) ?? 0;
        if (u.restarts > before) restarts.inc({ server: server(u.name) }, u.restarts - before);
        seenRestarts.set(u.name, u.restarts);
      }
    },
  });
  new client.Gauge({
    name: 'switchboard_upstream_connections',
    help: 'Open upstream connections (the shared one plus sessions\' own).',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, count] of Object.entries(options.sources.connections())) this.set({ server: server(name) }, count);
    },
  });
  new client.Gauge({
    name: 'switchboard_catalog_items',
    help: 'Items each server contributes to the merged catalog.',
    labelNames: ['kind', 'server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, kinds] of Object.entries(options.sources.catalogCounts())) {
        for (const [kind, count] of Object.entries(kinds)) this.set({ kind, server: server(name) }, count);
      }
    },
  });

  return {
    contentType: registry.contentType,
    request(labels, seconds, upstreamSeconds) {
      const s = server(labels.server);
      const m = method(labels.method);
      requests.inc({ server: s, method: m, outcome: labels.outcome, profile: profile(labels.profile) });
      duration.observe({ server: s, method: m }, seconds);
      if (upstreamSeconds !== undefined) upstreamDuration.observe({ server: s, method: m }, upstreamSeconds);
    },
    policyDecision(effect, rule) {
      const known = rule === undefined ? 'default' : knownRules().has(rule) ? rule : 'other';
      decisions.inc({ effect, rule: known });
    },
    policyReloadRefused(reason) {
      reloadsRefused.inc({ reason });
    },
    policyConditionError(rule) {
      conditionErrors.inc({ rule: knownRules().has(rule) ? rule : 'other' });
    },
    rateLimited(name) {
      limited.inc({ server: server(name) });
    },
    rateLimitStoreFailure(failMode) {
      storeFailures.inc({ fail_mode: failMode });
    },
    callerCredential(name, event, outcome) {
      callerCredentials.inc({ server: server(name), event, outcome });
    },
    streamDropped(kind) {
      streamDropped.inc({ kind });
    },
    streamClosedSlow() {
      streamClosedSlow.inc();
    },
    stderrTruncated(name) {
      stderrTruncated.inc({ server: server(name) });
    },
    sessionRefused(reason) {
      sessionsRefused.inc({ reason });
    },
    sessionEvicted(reason) {
      sessionsEvicted.inc({ reason });
    },
    processReclaimed(name) {
      processesReclaimed.inc({ server: server(name) });
    },
    render: () => registry.metrics(),
  };
}
