/**
 * A routed request (tools/call, prompts/get, resources/read, …) on its way
 * from a session's SDK server into the pipeline: the era decides how the
 * client is asked for input during the call, the call gets one signal for
 * the client's cancellation and the gateway's shutdown, and a subscription
 * is recorded once the upstream has accepted it.
 */
import { LOG_LEVEL_META_KEY, TRACEPARENT_META_KEY, type Result, type Server, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Principal } from '../core/principal.js';
import type { Pipeline, RoutedMethod } from '../pipeline/index.js';
import type { CallOrigin } from '../upstream/server.js';
import { originOf, type Ask } from './client-requests.js';
import type { SessionServerDeps, SessionState } from './deps.js';
import { acceptsTask, asClientTask } from './tasks.js';

const Loose = z.looseObject({});
const SERVER_REQUEST_TIMEOUT_MS = 300_000;

/** One routed request as the session server received it. */
export interface RoutedCall {
  deps: SessionServerDeps;
  state: SessionState;
  /** This request's own caller (the session's identity, this credential's scopes and groups). */
  principal: Principal;
  server: Server;
  method: RoutedMethod;
  params: Record<string, unknown>;
  ctx: ServerContext;
}

export function routeThroughPipeline(call: RoutedCall): Promise<Result> {
  if (call.state.info.era === 'modern') return runWithInputRounds(call);
  // A 2025-era client is asked directly, with a request related to its call.
  const { ctx } = call;
  const ask: Ask = (request, signal) =>
    ctx.mcpReq.send(request as { method: 'sampling/createMessage' }, Loose, { signal, timeout: SERVER_REQUEST_TIMEOUT_MS }) as Promise<Result>;
  return runCall(call, originOf(call.state.info, call.server.getClientCapabilities(), ctx, ask), ctx.mcpReq.signal);
}

/**
 * A 2026-07-28 client cannot be sent requests: what an upstream asks for
 * during its call comes back to it as `input_required` rounds.
 */
function runWithInputRounds(call: RoutedCall): Promise<Result> {
  const { ctx } = call;
  const request = { state: ctx.mcpReq.requestState<string>(), inputResponses: ctx.mcpReq.inputResponses, signal: ctx.mcpReq.signal };
  return call.deps.inputs.run(call.principal.id, request, (parked) => {
    const origin = originOf(call.state.info, call.server.getClientCapabilities(), ctx, (input) => parked.ask(input));
    return runCall(call, origin, parked.controller.signal);
  });
}

async function runCall(call: RoutedCall, origin: CallOrigin, clientSignal: AbortSignal): Promise<Result> {
  const { deps, state, method, params, ctx } = call;
  // Only the last subscriber's unsubscribe reaches a shared upstream.
  if (method === 'resources/unsubscribe') {
    // Subscriptions are held under the canonical exposed URI, as subscribe recorded them.
    const routed = typeof params.uri === 'string' ? deps.catalog.resolveResource(params.uri) : undefined;
    const removed = deps.subscriptions.remove(state.info.id, routed && 'exposed' in routed ? routed.exposed : String(params.uri ?? ''));
    if (removed && !removed.last) return {};
  }
  const meta = params._meta as { progressToken?: string | number } | undefined;
  // The client's cancellation, or the gateway's shutdown once draining is over.
  const either = eitherSignal(clientSignal, deps.shutdown);
  const callCtx: Parameters<Pipeline>[0] = {
    method,
    params,
    session: state.info,
    principal: call.principal,
    view: state.view,
    origin,
    signal: either.signal,
    progressToken: meta?.progressToken,
    logLevel: state.logLevel ?? ((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY] as string | undefined),
    traceparent: traceparentOf(params, ctx),
    acceptsTask: method === 'tools/call' && state.info.era === 'modern' && acceptsTask(ctx),
    startedAt: performance.now(),
  };
  try {
    const result = await deps.pipeline(callCtx);
    const { target, connection } = callCtx;
    if (method === 'resources/subscribe' && target && connection) {
      deps.subscriptions.add(connection, target.original, target.exposed, state.info.id);
    }
    return callCtx.acceptsTask && target ? asClientTask(deps, call.principal, target.upstream.name, result, callCtx.requestId) : result;
  } finally {
    either.release();
  }
}

/**
 * Aborts when either does, until released (when the call is over). Not
 * `AbortSignal.any`: on Node 20 it costs more per call, and each one stays
 * registered with the long-lived shutdown signal until it is collected.
 */
function eitherSignal(call: AbortSignal, shutdown: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onCall = () => settle(call.reason);
  const onShutdown = () => settle(shutdown.reason);
  const release = () => {
    call.removeEventListener('abort', onCall);
    shutdown.removeEventListener('abort', onShutdown);
  };
  const settle = (reason: unknown) => {
    release();
    controller.abort(reason);
  };
  if (call.aborted || shutdown.aborted) controller.abort(call.aborted ? call.reason : shutdown.reason);
  else {
    call.addEventListener('abort', onCall, { once: true });
    shutdown.addEventListener('abort', onShutdown, { once: true });
  }
  return { signal: controller.signal, release };
}

/** The caller's W3C trace context, wherever its era puts it. */
function traceparentOf(params: Record<string, unknown>, ctx: ServerContext): string | undefined {
  const fromMeta = (params._meta as Record<string, unknown> | undefined)?.[TRACEPARENT_META_KEY];
  const fromEnvelope = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[TRACEPARENT_META_KEY];
  const value = fromMeta ?? fromEnvelope;
  return typeof value === 'string' ? value : undefined;
}
