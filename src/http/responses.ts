/**
 * How the HTTP edge answers without the SDK: a JSON-RPC error body with an
 * HTTP status, written the same way by the express routes and the session
 * fast path, so a client cannot tell which path served it.
 */
import type { ServerResponse } from 'node:http';
import { JsonRpc } from '../core/errors.js';
import type { Logger } from '../observability/log.js';

/** An HTTP answer refusing a request: written by whichever path found it. */
export interface Refusal {
  status: number;
  headers?: Record<string, string>;
  body: object;
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, refusal.body, refusal.headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

export function refusal(status: number, code: number, message: string, headers?: Record<string, string>): Refusal {
  return { status, body: rpcError(code, message), ...(headers ? { headers } : {}) };
}

/** A failure nobody planned for: logged, and answered 500 if an answer can still be written. */
export function answerInternalError(res: ServerResponse, log: Logger, err: unknown): void {
  log.error('unhandled HTTP error', { error: (err as Error | undefined)?.message });
  if (res.headersSent) return void res.end();
  sendJson(res, 500, rpcError(JsonRpc.INTERNAL_ERROR, 'Internal error'));
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
