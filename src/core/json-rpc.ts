/**
 * Cheap JSON-RPC shape checks for the per-call path. What a client sends is
 * checked with the SDK's schema (session-transport.ts); these look at the
 * keys only, where the message has been checked already or comes from an
 * upstream whose answers the SDK client checks again.
 */
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from '@modelcontextprotocol/server';

/**
 * The largest message an upstream may send (10 MiB, in characters of the
 * decoded text on HTTP, bytes of the line on stdio): beyond it the message is
 * dropped and its call fails, so one upstream cannot exhaust the gateway's memory.
 */
export const MAX_MESSAGE_CHARS = 10 * 1024 * 1024;

/**
 * The methods that reach an upstream, through the pipeline; lists are served
 * from the catalog and everything else is answered by the gateway itself.
 * The one table: the session layer routes by it, metrics label by it.
 */
export const ROUTED_METHODS = ['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'completion/complete'] as const;
export type RoutedMethod = (typeof ROUTED_METHODS)[number];
const ROUTED = new Set<string>(ROUTED_METHODS);

export function isRoutedMethod(method: string): method is RoutedMethod {
  return ROUTED.has(method);
}

/**
 * The JSON-RPC 2.0 envelope MCP uses: a request or notification (`method`,
 * optional `id`, object `params`), or a response (`id` with `result` object or
 * `error` {code, message}). What is inside `params` and `result` is checked
 * by the handler of each method.
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  if ('method' in m) {
    if (typeof m.method !== 'string') return false;
    if ('id' in m && !isRequestId(m.id)) return false;
    return m.params === undefined || isObject(m.params);
  }
  if ('result' in m) return isRequestId(m.id) && isObject(m.result);
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    return isObject(e) && Number.isInteger(e.code) && typeof e.message === 'string' && (m.id === undefined || m.id === null || isRequestId(m.id));
  }
  return false;
}

function isRequestId(id: unknown): boolean {
  return typeof id === 'string' || Number.isSafeInteger(id);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/*
 * Shape tests for messages already known to be JSON-RPC. The SDK's own
 * `isJSONRPCRequest` and friends run a zod parse each; on the per-call path
 * these look at the keys only.
 */

export function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message && message.id !== undefined;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  return !('method' in message) && ('result' in message || 'error' in message);
}

export function isInitialize(message: JSONRPCMessage): boolean {
  return isRequest(message) && message.method === 'initialize';
}
