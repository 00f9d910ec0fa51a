/**
 * The session layer's one mapping onto the SDK's error type: the gateway's
 * own errors (core/errors.ts, with their JSON-RPC codes) become the SDK's
 * ProtocolError with that code and data; anything else is left as it is (an
 * upstream's own error passes through unchanged).
 */
import { ProtocolError } from '@modelcontextprotocol/server';
import { GatewayError } from '../core/errors.js';

export function toWireError(err: unknown): unknown {
  if (!(err instanceof GatewayError)) return err;
  const wire = err.toJsonRpcError();
  return new ProtocolError(wire.code, wire.message, wire.data);
}
