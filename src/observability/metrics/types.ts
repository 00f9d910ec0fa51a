/**
 * What the rest of the gateway sees of the metrics: the recording methods
 * (one per event worth counting) and the sources read at scrape time. Kept
 * apart from metrics.ts so that the topic files can name the methods they
 * implement without importing prom-client's seam.
 */

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
  /** The audit sink: whether it keeps up (ok), how much it holds unwritten. */
  auditHealth?: () => { state: string; queuedBytes: number };
  /** Entries the contract guard holds back now, per server; not given when contracts are not checked. */
  quarantined?: () => Record<string, number>;
  /** Calls waiting for an approval on this replica. */
  approvalsPending?: () => number;
}

export interface MetricsOptions {
  /** The configured server names (read again when an unknown one shows up: a config reload may have added it). */
  servers: () => Iterable<string>;
  /** Configured profile names: the only values the `profile` label takes (besides "" for the whole catalog). */
  profiles?: readonly string[];
  ruleIds: () => readonly string[];
  sources: MetricsSources;
}

export interface Metrics {
  readonly contentType: string;
  /** One forwarded request, end to end, and the upstream's part of it. */
  request(labels: { server?: string; method: string; outcome: string; profile?: string }, seconds: number, upstreamSeconds?: number): void;
  policyDecision(effect: 'allow' | 'deny', rule: string | undefined): void;
  /** A rule's condition failed to evaluate on a request (a deny or require then denies: fail closed). */
  policyConditionError(rule: string): void;
  /** A shadow rule (mode: shadow, never enforced) that would have acted on a routed request; `effect` is the rule's. */
  policyShadowDecision(rule: string, effect: 'allow' | 'deny' | 'require' | 'approve'): void;
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
  /** A contract first seen differing from the lock: new, changed, or in the lock and no longer served. */
  contractDrift(server: string, kind: 'new' | 'changed' | 'removed'): void;
  /** A poisoning-lint finding, counted once. */
  contractFinding(server: string, detector: string, severity: string): void;
  /** Tool arguments that did not match the input schema: refused (enforce) or let through (warn). */
  argumentsInvalid(server: string, outcome: 'refused' | 'warned'): void;
  /** An approval requested, decided (granted, declined), expired, or covered by a remembered yes. */
  approval(server: string, outcome: 'requested' | 'granted' | 'declined' | 'expired' | 'remembered'): void;
  /** A webhook notification to approvers delivered, or an attempt that failed and why. */
  approvalNotify(outcome: 'delivered' | 'status' | 'timeout' | 'network' | 'dropped'): void;
  /** A task event (tasks extension): created by a call, polled, updated, cancelled, or a handle refused (no server). */
  task(server: string | undefined, event: 'created' | 'polled' | 'updated' | 'cancelled' | 'refused'): void;
  /** Audit records the sink could not write (it fell behind or failed); each also in an audit-gap line. */
  auditDropped(records: number): void;
  render(): Promise<string>;
}
