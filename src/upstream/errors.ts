/**
 * How an upstream's failures are told: in full to the log, as a bounded
 * class to /readyz and clients (a message may quote a child's stderr or a URL
 * with a token), and as the SDK client's error form when the gateway answers
 * an upstream's own request.
 */
import { ProtocolError } from '@modelcontextprotocol/client';
import type { GatewayError } from '../core/errors.js';

/** Bounded, publishable kinds of failure (the message itself may quote a child's stderr or a URL with a token). */
export type UpstreamErrorClass = 'spawn-failed' | 'unreachable' | 'timeout' | 'unauthorized' | 'disconnected' | 'connect-failed';

/** The class of a connect failure, read from the error's code and message; `connect-failed` when nothing more is known. */
export function classifyError(err: unknown): UpstreamErrorClass {
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const message = describe(err).split('; stderr:')[0] ?? '';
  if (code === 'ENOENT' || code === 'EACCES' || /\bspawn\b/.test(message)) return 'spawn-failed';
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|fetch failed/.test(`${String(code)} ${message}`)) return 'unreachable';
  if (/timed? ?out|timeout/i.test(message)) return 'timeout';
  if (/\b(401|403)\b|unauthori[sz]ed|forbidden|login|sign[- ]in/i.test(message)) return 'unauthorized';
  if (/closed|exited|ended/i.test(message)) return 'disconnected';
  return 'connect-failed';
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Our answer to an upstream's request, in the SDK client's error form (its JSON-RPC code and data). */
export function protocolError(err: GatewayError): ProtocolError {
  const wire = err.toJsonRpcError();
  return new ProtocolError(wire.code, wire.message, wire.data);
}
