/**
 * The one object a forwarded request becomes. Stages read and fill it in
 * order; nothing in the pipeline sees express or the SDK's Server.
 */
import type { Result } from '@modelcontextprotocol/client';
import type { RoutedMethod } from '../core/json-rpc.js';
import type { Principal } from '../core/principal.js';
import type { Decision, DecisionInput } from '../policy/types.js';
import type { CallTrace } from '../observability/trace.js';
import type { Verdict } from '../contracts/verdict.js';
import type { View } from './view.js';
import type { CallOrigin, Upstream } from '../upstream/server.js';

export type { RoutedMethod } from '../core/json-rpc.js';

export interface SessionInfo {
  id: string;
  transport: 'streamable-http' | 'sse' | 'stdio';
  era: 'legacy' | 'modern';
  /** The profile whose endpoint the session came through; undefined for the whole gateway. */
  profile?: string;
}

export interface Target {
  upstream: Upstream;
  /** What the client called it (exposed name or URI). */
  exposed: string;
  /** What the upstream calls it. */
  original: string;
  /** What kind of item the name or URI denotes. */
  kind: 'tool' | 'prompt' | 'resource';
  /** The tool's annotations a decision may rely on: the approved ones when contracts are pinned. */
  annotations?: Record<string, unknown>;
  /** The contract verdict (pinning or the lint on): what the audit record and argument validation use. */
  contract?: Verdict;
}

/** Who is looking, through which endpoint: what a list or a search is filtered for. */
export interface Viewer {
  principal: Principal;
  session: SessionInfo;
  view: View;
}

export interface CallContext {
  method: RoutedMethod;
  /** Names this request in logs and audit records (set by the pipeline). */
  requestId?: string;
  /** The caller's W3C trace context (`_meta.traceparent`), if it sent one. */
  traceparent?: string;
  /** This request's span, when tracing is on (set by the trace stage). */
  trace?: CallTrace;
  /** The caller's own upstream credential, for servers that act as the caller (kind and upstream subject; never the token). */
  credential?: { kind: 'user-oauth' | 'token-exchange' | 'id-jag'; subject?: string };
  params: Record<string, unknown>;
  /** The client declared the tasks extension on this request: the upstream may answer a tools/call with a task. */
  acceptsTask?: boolean;
  session: SessionInfo;
  principal: Principal;
  /** What the session's endpoint shows; names outside it are unknown. */
  view?: View;
  origin: CallOrigin;
  signal: AbortSignal;
  /** The level of log messages the client wants (set by logging/setLevel, or per request in 2026-07-28). */
  logLevel?: string;
  /** The downstream client's progress token, if it asked for progress. */
  progressToken?: string | number;
  startedAt: number;
  target?: Target;
  /** The params exactly as they go upstream (original name, canonical URI, filtered _meta): what policy and the audit see. */
  forwarded?: Record<string, unknown>;
  /** Argument problems found in "warn" validation (the call went on). */
  argumentProblems?: { path: string; message: string }[];
  decisionInput?: DecisionInput;
  /** Made by the gateway on a client's behalf (a listen stream's upstream subscription): nobody can approve or wait. */
  unattended?: boolean;
  /** The yes an `approve` rule waited for (set by the approve stage). */
  approval?: { id?: string; by: string; channel: 'elicitation' | 'url' | 'console'; remembered?: boolean };
  decision?: Decision;
  /** The connection the request went out on (shared, or the session's own). */
  connection?: Upstream;
  /** How long the upstream took (set by forward). */
  upstreamMs?: number;
  result?: Result;
  error?: unknown;
}
