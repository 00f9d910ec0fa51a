/**
 * W3C trace context for forwarded requests, and OpenTelemetry spans when an
 * operator wants them. Off by default. When on, every forwarded request
 * continues the caller's trace (from `_meta.traceparent` or the HTTP
 * `traceparent` header) or starts one, and the upstream receives the
 * gateway's span as its parent: in `_meta.traceparent` and, for HTTP
 * upstreams, in the `traceparent` header.
 *
 * Spans are recorded through `@opentelemetry/api` if it is installed (with
 * whatever SDK and exporter the operator registers, e.g. `node --import
 * ./otel.mjs`); it is loaded only when tracing is enabled, so it is not a
 * dependency otherwise. Without it, trace context is still propagated.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from './log.js';

export interface TraceSettings {
  enabled: boolean;
  /** The name spans are recorded under. */
  serviceName: string;
}

export interface TraceParent {
  traceId: string;
  spanId: string;
  /** 2 hex digits; '01' = sampled. */
  flags: string;
}

/** One forwarded request's place in a trace. */
export interface CallTrace {
  /** What the upstream is sent: this request's span as the parent. */
  traceparent: string;
  traceId: string;
  end(outcome: { ok: boolean; code?: string; server?: string }): void;
}

export interface Tracer {
  /** Starts the gateway's span for one forwarded request, continuing `incoming` if it is valid. */
  start(name: string, incoming: string | undefined, attributes: Record<string, string>): CallTrace;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export function parseTraceparent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || ZEROS.test(m[1]!) || ZEROS.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
}

export const formatTraceparent = (t: TraceParent): string => `00-${t.traceId}-${t.spanId}-${t.flags}`;

const newId = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Propagation only: a new span id per request, in the caller's trace or a new one. */
export const propagatingTracer: Tracer = {
  start(_name, incoming) {
    const parent = parseTraceparent(incoming);
    const own = { traceId: parent?.traceId ?? newId(16), spanId: newId(8), flags: parent?.flags ?? '01' };
    return { traceparent: formatTraceparent(own), traceId: own.traceId, end() {} };
  },
};

/** The subset of `@opentelemetry/api` used here. */
interface OtelApi {
  trace: {
    getTracer(name: string): {
      startSpan(name: string, options: { kind: number; attributes: Record<string, string> }, context: unknown): OtelSpan;
    };
    setSpanContext(context: unknown, spanContext: { traceId: string; spanId: string; traceFlags: number; isRemote: boolean }): unknown;
  };
  ROOT_CONTEXT: unknown;
  SpanKind: { SERVER: number };
  SpanStatusCode: { OK: number; ERROR: number };
}
interface OtelSpan {
  spanContext(): { traceId: string; spanId: string; traceFlags: number };
  setAttribute(key: string, value: string): void;
  setStatus(status: { code: number; message?: string }): void;
  end(): void;
}

/** Records a span per request through OpenTelemetry; the span's own ids are what the upstream sees. */
function otelTracer(api: OtelApi, serviceName: string): Tracer {
  const tracer = api.trace.getTracer(serviceName);
  return {
    start(name, incoming, attributes) {
      const parent = parseTraceparent(incoming);
      const context = parent
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parseInt(parent.flags, 16), isRemote: true })
        : api.ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, context);
      const sc = span.spanContext();
      // No SDK registered: the API hands out a non-recording span with the parent's (or empty) ids.
      const recording = !ZEROS.test(sc.spanId) && sc.spanId !== parent?.spanId;
      const fallback = recording ? undefined : propagatingTracer.start(name, incoming, attributes);
      const own = fallback ? undefined : { traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags.toString(16).padStart(2, '0') };
      return {
        traceparent: fallback?.traceparent ?? formatTraceparent(own!),
        traceId: fallback?.traceId ?? own!.traceId,
        end(outcome) {
          if (outcome.server) span.setAttribute('mcp.server', outcome.server);
          if (outcome.ok) span.setStatus({ code: api.SpanStatusCode.OK });
          else span.setStatus({ code: api.SpanStatusCode.ERROR, message: outcome.code });
          span.end();
        },
      };
    },
  };
}

/**
 * The tracer for the settings: undefined when tracing is off. Spans need
 * `@opentelemetry/api`; without it, the trace context is still propagated.
 */
/** The tracer for `gateway.tracing`, saying in the log whether spans are recorded or only trace context is propagated. */
export async function startTracing(settings: TraceSettings, log: Logger): Promise<Tracer | undefined> {
  const { tracer, spans } = await createTracer(settings);
  log.info('tracing on', {
    spans: spans ? 'recorded through @opentelemetry/api' : 'not recorded (@opentelemetry/api is not installed); trace context is propagated',
  });
  return tracer;
}

async function createTracer(settings: TraceSettings): Promise<{ tracer?: Tracer; spans: boolean }> {
  if (!settings.enabled) return { spans: false };
  try {
    const api = (await import('@opentelemetry/api' as string)) as OtelApi;
    return { tracer: otelTracer(api, settings.serviceName), spans: true };
  } catch {
    return { tracer: propagatingTracer, spans: false };
  }
}
