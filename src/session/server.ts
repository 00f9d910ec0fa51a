/**
 * One SDK `Server` per downstream session, answering from the merged catalog
 * and handing every routed request to the pipeline. Requests are handled
 * through the raw fallback handler so that params and results pass through
 * verbatim: no schema on this path strips a field the gateway does not know.
 */
import { Server, type JSONRPCRequest, type Result, type ServerCapabilities, type ServerContext } from '@modelcontextprotocol/server';
import { methodNotFound } from '../core/errors.js';
import { isRoutedMethod } from '../core/json-rpc.js';
import { requestPrincipal, type Principal } from '../core/principal.js';
import type { SessionServerDeps, SessionState } from './deps.js';
import { CALL_TOOL, directCallParams, FIND_TOOLS, findTools } from './disclosure.js';
import { listHint, readHint, withHint } from './cache-hints.js';
import { isListMethod, list, listKindOf } from './lists.js';
import { personalEntries } from './personal-catalog.js';
import { routeThroughPipeline } from './routed-call.js';
import { TASKS_EXTENSION } from '../upstream/tasks.js';
import { isTaskMethod, registerTaskMethods, routeTaskRequest } from './tasks.js';
import { toWireError } from './wire-error.js';

export type { SessionServerDeps, SessionState } from './deps.js';

export function createSessionServer(deps: SessionServerDeps, state: SessionState): Server {
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {},
      ...routedExtensions(deps.upstreams, state.info.era),
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

  registerTaskMethods(server, async (method, params, ctx) => {
    try {
      const principal = requestPrincipal(state.principal, ctx.http?.authInfo?.extra?.principal as Principal | undefined);
      return await routeTaskRequest(deps, state, principal, method, params, ctx);
    } catch (err) {
      throw toWireError(err);
    }
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

/**
 * Extensions the gateway carries for its clients, declared when some ready
 * upstream declares them: MCP Apps (`ui://` resources named in tool `_meta`)
 * in both eras, and tasks (tasks.ts) to 2026-07-28 clients only, as the
 * extension is defined for that revision. Other extensions are not routed,
 * so never declared.
 */
const ROUTED_EXTENSIONS = { legacy: ['io.modelcontextprotocol/ui'], modern: ['io.modelcontextprotocol/ui', TASKS_EXTENSION] };

function routedExtensions(upstreams: SessionServerDeps['upstreams'], era: 'legacy' | 'modern'): Pick<ServerCapabilities, 'extensions'> {
  const extensions: NonNullable<ServerCapabilities['extensions']> = {};
  for (const upstream of upstreams) {
    if (upstream.state !== 'ready') continue;
    const declared = upstream.capabilities.extensions ?? {};
    for (const id of ROUTED_EXTENSIONS[era]) if (declared[id] && !extensions[id]) extensions[id] = declared[id];
  }
  return Object.keys(extensions).length > 0 ? { extensions } : {};
}

async function dispatch(deps: SessionServerDeps, state: SessionState, server: Server, request: JSONRPCRequest, ctx: ServerContext): Promise<Result> {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const { catalog } = deps;
  // A client that connects while the gateway is starting sees the full
  // catalog, not whatever happened to be up in the first milliseconds.
  await deps.started();
  // This request's own caller (same identity as the session's): scopes and groups count as they are now.
  const principal = requestPrincipal(state.principal, ctx.http?.authInfo?.extra?.principal as Principal | undefined);
  const who = { principal, session: state.info, view: state.view };
  if (isListMethod(request.method)) {
    const kind = listKindOf(request.method);
    const personal = deps.personal ? await personalEntries(deps.personal, kind, principal.id) : [];
    const policy = deps.policy();
    const result = list(request.method, params.cursor, catalog, who, policy, deps.listings, personal);
    return withHint(result, state.info.era, () => listHint(kind, deps.upstreams, who, policy, personal.length > 0));
  }
  const { method } = request;
  if (isTaskMethod(method)) return routeTaskRequest(deps, state, principal, method, params, ctx);
  if (!isRoutedMethod(method)) throw methodNotFound(method);
  const call = { deps, state, principal, server, method, params, ctx };
  if (method === 'tools/call' && state.view.disclosure === 'search') {
    if (params.name === FIND_TOOLS)
      return findTools((params.arguments ?? {}) as Record<string, unknown>, { catalog, who, policy: deps.policy(), indexes: deps.toolIndexes });
    if (params.name === CALL_TOOL) return routeThroughPipeline({ ...call, params: directCallParams(params) });
  }
  if (method === 'resources/read') {
    const result = await routeThroughPipeline(call);
    const route = typeof params.uri === 'string' ? catalog.resolveResource(params.uri) : undefined;
    const upstream = route && 'upstream' in route ? route.upstream : undefined;
    return withHint(result, state.info.era, () => readHint(result, upstream, who, deps.policy()));
  }
  return routeThroughPipeline(call);
}
