/**
 * Tracing and request ids: with `gateway.tracing.enabled`, a forwarded call
 * continues the caller's W3C trace, is recorded as a span through
 * OpenTelemetry (a real SDK tracer provider with an in-memory exporter), and
 * hands its span to the upstream as parent — in `_meta.traceparent` on every
 * transport, and in the `traceparent` header over HTTP. Off, the caller's
 * context passes through untouched. Every call's log lines and audit record
 * share one request id.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { connectLegacy, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

type HttpFixture = { url: string; close(): Promise<void> };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const CLIENT_TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
const exporter = new InMemorySpanExporter();
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;
const parentOf = (s: ReadableSpan) =>
  (s as unknown as { parentSpanContext?: { spanId: string }; parentSpanId?: string }).parentSpanContext?.spanId ??
  (s as unknown as { parentSpanId?: string }).parentSpanId;

let fixture: HttpFixture;

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string }) => Promise<HttpFixture>;
  };
  fixture = await startHttpFixture({ mode: 'sessionful' });
});
afterAll(async () => {
  trace.disable();
  await fixture?.close();
});

const servers = () => ({ ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')), web: { type: 'http', url: fixture.url } });

describe('tracing on', () => {
  let gw: RunningGateway;
  let client: LegacyClient;
  beforeAll(async () => {
    gw = await startGateway({ mcpServers: servers(), gateway: { tracing: { enabled: true } } });
    client = await connectLegacy(gw.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it.each(['ks', 'web'])("continues the caller's trace and records a span that is the %s upstream's parent", async (server) => {
    exporter.reset();
    const result = await client.callTool({ name: `${server}__request_meta`, arguments: {}, _meta: { traceparent: CLIENT_TRACEPARENT } });
    const seen = JSON.parse(textOf(result)) as { _meta: Record<string, unknown>; envelope: Record<string, unknown> };
    const upstreamParent = String(seen._meta.traceparent ?? seen.envelope.traceparent);
    const [, traceId, spanId] = upstreamParent.split('-');
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).not.toBe(CLIENT_SPAN);

    const spans = exporter.getFinishedSpans();
    const span = spans.find((s) => s.name === `tools/call ${server}__request_meta`);
    expect(span, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.spanContext().spanId).toBe(spanId);
    expect(parentOf(span!)).toBe(CLIENT_SPAN);
    expect(span!.attributes['mcp.server']).toBe(server);
    expect(span!.status.code).toBe(1); // OK
  });

  it('sends the span to an HTTP upstream in the traceparent header too', async () => {
    const headers = JSON.parse(textOf(await client.callTool({ name: 'web__headers', arguments: {}, _meta: { traceparent: CLIENT_TRACEPARENT } }))) as Record<
      string,
      string
    >;
    expect(headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(headers.traceparent).not.toContain(CLIENT_SPAN);
  });

  it('starts a trace for a caller that sent none, and marks failed calls', async () => {
    exporter.reset();
    const seen = JSON.parse(textOf(await client.callTool({ name: 'ks__request_meta', arguments: {} }))) as { _meta: Record<string, unknown> };
    expect(String(seen._meta.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await client.callTool({ name: 'ks__throw_error', arguments: {} }).catch(() => {});
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'tools/call ks__throw_error');
    expect(failed?.status.code).toBe(2); // ERROR
  });

  it('names each call in its log lines and audit record with one request id, and the trace in the audit', async () => {
    const before = gw.audit.length;
    await client.callTool({ name: 'ks__echo', arguments: { text: 'id me' }, _meta: { traceparent: CLIENT_TRACEPARENT } });
    const record = gw.audit.slice(before).find((r) => r.name === 'ks__echo')!;
    expect(record.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.traceId).toBe(TRACE_ID);
    const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.request === record.requestId);
    expect(lines.map((l) => l.msg)).toContain('request');
    expect(lines.every((l) => typeof l.session === 'string')).toBe(true);
  });
});

describe('tracing off (the default)', () => {
  let gw: RunningGateway;
  let client: LegacyClient;
  beforeAll(async () => {
    gw = await startGateway({ mcpServers: servers() });
    client = await connectLegacy(gw.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it("passes the caller's trace context through untouched and adds no header", async () => {
    exporter.reset();
    const seen = JSON.parse(textOf(await client.callTool({ name: 'ks__request_meta', arguments: {}, _meta: { traceparent: CLIENT_TRACEPARENT } }))) as {
      _meta: Record<string, unknown>;
    };
    expect(seen._meta.traceparent).toBe(CLIENT_TRACEPARENT);
    const headers = JSON.parse(textOf(await client.callTool({ name: 'web__headers', arguments: {} }))) as Record<string, string>;
    expect(headers.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
    // Request ids do not depend on tracing.
    expect(gw.audit.at(-1)?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(gw.audit.at(-1)?.traceId).toBeUndefined();
  });
});
