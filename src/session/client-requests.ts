/**
 * What an upstream asks of the client during a call (sampling, roots,
 * elicitation) goes back to the client that made the call, and only if that
 * client declared it can answer.
 */
import type { ClientCapabilities } from '@modelcontextprotocol/client';
import type { Result, ServerContext } from '@modelcontextprotocol/server';
import { GatewayError } from '../core/errors.js';
import type { SessionInfo } from '../pipeline/index.js';
import type { CallOrigin } from '../upstream/server.js';
import { toWireError } from './wire-error.js';

/** How a client is asked for something an upstream wants: a related request, or an input round. */
export type Ask = (request: { method: string; params?: Record<string, unknown> }, signal: AbortSignal) => Promise<Result>;

export function originOf(info: SessionInfo, capabilities: ClientCapabilities | undefined, ctx: ServerContext, ask: Ask): CallOrigin {
  return {
    sessionId: info.id,
    clientCapabilities: capabilities,
    async send(request, signal) {
      assertClientCapability(request.method, request.params, capabilities);
      return ask(request, signal);
    },
    notify: (notification) => ctx.mcpReq.notify(notification),
  };
}

/** Never send a client a request it did not declare it can answer. */
function assertClientCapability(method: string, params: Record<string, unknown> | undefined, caps: ClientCapabilities | undefined): void {
  const need = (ok: unknown, capability: string) => {
    if (ok) return;
    throw toWireError(
      new GatewayError('CLIENT_CAPABILITY_MISSING', `The client did not declare the '${capability}' capability needed for ${method}`, {
        capability,
      }),
    );
  };
  if (method === 'sampling/createMessage') need(caps?.sampling, 'sampling');
  if (method === 'roots/list') need(caps?.roots, 'roots');
  if (method === 'elicitation/create') {
    const elicitation = caps?.elicitation as { form?: unknown; url?: unknown } | undefined;
    const mode = params?.mode === 'url' ? 'url' : 'form';
    const formOk = elicitation && (elicitation.form || (!elicitation.url && Object.keys(elicitation).length === 0));
    need(mode === 'url' ? elicitation?.url : formOk, mode === 'url' ? 'elicitation.url' : 'elicitation');
  }
}
