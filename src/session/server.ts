/**
 * One SDK `Server` per downstream session, answering from the merged catalog
 * and handing every routed request to the pipeline. Requests are handled
 * through the raw fallback handler so that params and results pass through
 * verbatim: no schema on this path strips a field the gateway does not know.
 */
import {
  LOG_LEVEL_META_KEY,
  ProtocolError,
  TRACEPARENT_META_KEY,
  Server,
  type JSONRPCRequest,
  type LoggingLevel,
  type Result,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ClientCapabilities } from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { GatewayError, methodNotFound } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { requestPrincipal, type Principal } from '../core/principal.js';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { Pipeline, RoutedMethod, SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import { CALL_TOOL, directCallParams, FIND_TOOLS, findTools } from './disclosure.js';
import { isListMethod, list, listKindOf, type Listings } from './lists.js';
import { personalEntries, type PersonalCatalogDeps } from './personal-catalog.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { CallOrigin, Upstream } from '../upstream/upstream.js';
import type { InputBridge } from './input-bridge.js';
import type { SubscriptionRegistry } from './registry.js';

const Loose = z.looseObject({});
const SERVER_REQUEST_TIMEOUT_MS = 300_000;

export interface SessionServerDeps {
  catalog: Catalog;
  /** Set when some server acts as each caller: their own lists join the catalog. */
  personal?: PersonalCatalogDeps;
  pipeline: Pipeline;
  upstreams: readonly Upstream[];
  subscriptions: SubscriptionRegistry;
  pool: ConnectionPool;
  log: Logger;
  /** Name and version the gateway presents to clients. */
  serverInfo: { name: string; version: string };
  instructions: () => string | undefined;
  /** Aborted when shutdown stops waiting for calls in flight. */
  shutdown: AbortSignal;
  /** Resolves once every upstream has come up or failed once since start (bounded). */
  started: () => Promise<void>;
  /** The policy in force now. */
  policy: () => DecisionMaker;
  /** Parked calls of 2026-07-28 clients waiting for their input. */
  inputs: InputBridge;
  /** This gateway's cache of filtered lists. */
  listings: Listings;
}

/** Mutable per-session state the server's handlers keep. */
export interface SessionState {
  info: SessionInfo;
  /**
   * Who this session belongs to (authenticated at the edge when it opened).
   * Over HTTP only its id binds the session: each request is decided with the
   * principal of its own credential (requestPrincipal in auth/principal.ts).
   */
  principal: Principal;
  /** What the endpoint it came through shows (a profile's part, or everything). */
  view: View;
  logLevel?: LoggingLevel;
}

const ROUTED = new Set<string>([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
]);

export function createSessionServer(deps: SessionServerDeps, state: SessionState): Server {
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {},
    },
    instructions: deps.instructions(),
  });

  server.setRequestHandler('logging/setLevel', async (request) => {
    state.logLevel = request.params.level;
    const own = await deps.pool.connectionsOf(state.info.id);
    await Promise.allSettled(
      [...deps.upstreams, ...own]
        .filter((u) => u.state === 'ready' && u.capabilities.logging)
        .map((u) => u.request('logging/setLevel', { level: request.params.level })),
    );
    return {};
  });

  server.fallbackRequestHandler = async (request, ctx) => {
    try {
      return await dispatch(deps, state, server, request, ctx);
    } catch (err) {
      throw toWireError(err);
    }
  };

  server.fallbackNotificationHandler = async (notification) => {
    // Roots belong to the client; every upstream that may ask for them hears it.
    if (notification.method === 'notifications/roots/list_changed') {
      await Promise.allSettled(deps.upstreams.map((u) => u.notify(notification)));
    }
  };
  return server;
}

async function dispatch(
  deps: SessionServerDeps,
  state: SessionState,
  server: Server,
  request: JSONRPCRequest,
  ctx: ServerContext,
): Promise<Result> {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const { catalog } = deps;
  // A client that connects while the gateway is starting sees the full
  // catalog, not whatever happened to be up in the first milliseconds.
  await deps.started();
  // This request's own caller (same identity as the session's): scopes and groups count as they are now.
  const principal = requestPrincipal(state.principal, ctx.http?.authInfo?.extra?.principal as Principal | undefined);
  const who = { principal, session: state.info, view: state.view };
  if (isListMethod(request.method)) {
    const personal = deps.personal ? await personalEntries(deps.personal, listKindOf(request.method), principal.id) : [];
    return list(request.method, params.cursor, catalog, who, deps.policy(), deps.listings, personal);
  }
  if (!ROUTED.has(request.method)) throw methodNotFound(request.method);
  if (request.method === 'tools/call' && state.view.disclosure === 'search') {
    if (params.name === FIND_TOOLS) return findTools((params.arguments ?? {}) as Record<string, unknown>, catalog, who, deps.policy());
    if (params.name === CALL_TOOL) return routeThroughPipeline(deps, state, principal, server, 'tools/call', directCallParams(params), ctx);
  }
  return routeThroughPipeline(deps, state, principal, server, request.method as RoutedMethod, params, ctx);
}

async function routeThroughPipeline(
  deps: SessionServerDeps,
  state: SessionState,
  principal: Principal,
  server: Server,
  method: RoutedMethod,
  params: Record<string, unknown>,
  ctx: ServerContext,
): Promise<Result> {
  if (state.info.era === 'modern') return runWithInputRounds(deps, state, principal, server, method, params, ctx);
  // A 2025-era client is asked directly, with a request related to its call.
  const ask: Ask = (request, signal) =>
    ctx.mcpReq.send(request as { method: 'sampling/createMessage' }, Loose, { signal, timeout: SERVER_REQUEST_TIMEOUT_MS }) as Promise<Result>;
  return runCall(deps, state, principal, method, params, ctx, originOf(state.info, server.getClientCapabilities(), ctx, ask), ctx.mcpReq.signal);
}

/**
 * A 2026-07-28 client cannot be sent requests: what an upstream asks for
 * during its call comes back to it as `input_required` rounds.
 */
function runWithInputRounds(
  deps: SessionServerDeps,
  state: SessionState,
  principal: Principal,
  server: Server,
  method: RoutedMethod,
  params: Record<string, unknown>,
  ctx: ServerContext,
): Promise<Result> {
  const request = { state: ctx.mcpReq.requestState<string>(), inputResponses: ctx.mcpReq.inputResponses, signal: ctx.mcpReq.signal };
  return deps.inputs.run(principal.id, request, (call) => {
    const origin = originOf(state.info, server.getClientCapabilities(), ctx, (input) => call.ask(input));
    return runCall(deps, state, principal, method, params, ctx, origin, call.controller.signal);
  });
}

async function runCall(
  deps: SessionServerDeps,
  state: SessionState,
  principal: Principal,
  method: RoutedMethod,
  params: Record<string, unknown>,
  ctx: ServerContext,
  origin: CallOrigin,
  clientSignal: AbortSignal,
): Promise<Result> {
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
    principal,
    view: state.view,
    origin,
    signal: either.signal,
    progressToken: meta?.progressToken,
    logLevel: state.logLevel ?? ((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY] as string | undefined),
    traceparent: traceparentOf(params, ctx),
    startedAt: performance.now(),
  };
  try {
    const result = await deps.pipeline(callCtx);
    const { target, connection } = callCtx;
    if (method === 'resources/subscribe' && target && connection) {
      deps.subscriptions.add(connection, target.original, target.exposed, state.info.id);
    }
    return result;
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

/** How a client is asked for something an upstream wants: a related request, or an input round. */
type Ask = (request: { method: string; params?: Record<string, unknown> }, signal: AbortSignal) => Promise<Result>;

function originOf(info: SessionInfo, capabilities: ClientCapabilities | undefined, ctx: ServerContext, ask: Ask): CallOrigin {
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

/**
 * The form an error takes on the wire: the gateway's own errors become the
 * SDK's ProtocolError with their JSON-RPC code and data; anything else is
 * left as it is (an upstream's own error passes through unchanged).
 */
function toWireError(err: unknown): unknown {
  if (!(err instanceof GatewayError)) return err;
  const wire = err.toJsonRpcError();
  return new ProtocolError(wire.code, wire.message, wire.data);
}
