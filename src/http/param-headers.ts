/**
 * SEP-2243 on the way in: a 2026-07-28 `tools/call` of a tool whose input
 * schema declares `x-mcp-header` arguments must carry them as
 * `Mcp-Param-{Name}` headers, equal to the body's values. Anything in front
 * of the gateway may route or decide on those headers, so a request whose
 * headers and body disagree is refused (400, -32020) before it is served.
 * The gateway itself decides on the body and builds the upstream's headers
 * from it (upstream/param-headers.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import { paramHeaders } from '../upstream/param-headers.js';

/** SEP-2243 HeaderMismatch: Mcp-* request headers that disagree with the body. */
const HEADER_MISMATCH = -32020;

/** Answers 400 / -32020 when the request's Mcp-Param-* headers disagree with its body; true when it did. */
export function refusedForParamHeaders(req: Request, res: Response, schemaOf: (exposed: string) => unknown): boolean {
  const mismatch = paramHeaderMismatch(req.body, req.headers, schemaOf);
  if (!mismatch) return false;
  const id = (req.body as { id?: unknown } | undefined)?.id ?? null;
  res.status(400).json({ jsonrpc: '2.0', id, error: { code: HEADER_MISMATCH, message: `Header mismatch: ${mismatch}` } });
  return true;
}

/** What is wrong with the request's Mcp-Param-* headers for this tool, or undefined when they agree with the body. */
export function paramHeaderMismatch(body: unknown, headers: IncomingHttpHeaders, schemaOf: (exposed: string) => unknown): string | undefined {
  const request = body as { method?: unknown; params?: { name?: unknown; arguments?: unknown } } | undefined;
  if (request?.method !== 'tools/call' || typeof request.params?.name !== 'string') return undefined;
  const schema = schemaOf(request.params.name);
  if (schema === undefined) return undefined;
  const expected = paramHeaders(schema, request.params.arguments) ?? {};
  for (const [name, value] of Object.entries(expected)) {
    const sent = headers[name.toLowerCase()];
    if (sent === undefined) return `the body carries ${name.slice('Mcp-Param-'.length)}, but the ${name} header is absent`;
    if (Array.isArray(sent) || decoded(sent) !== decoded(value)) return `the ${name} header does not match the body`;
  }
  return undefined;
}

/** A header value as text: `=?base64?…?=` decoded (clients may encode a value that needs no encoding). */
function decoded(value: string): string {
  const match = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(value);
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : value;
}
