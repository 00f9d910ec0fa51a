/**
 * The client half of the 2026-07-28 tasks extension
 * (`io.modelcontextprotocol/tasks`). A `tools/call` from a client that
 * declared the extension may come back from its upstream as a task: the
 * client is given a handle (task-handles.ts) instead of the upstream's id,
 * and its `tasks/get`, `tasks/update` and `tasks/cancel` are routed back by
 * the handle alone, to the server that holds the task, through the
 * principal's own connection (its credentials, as for the call).
 *
 * The call that created the task went through the whole pipeline; the task's
 * later requests are its continuation and are decided by that decision: only
 * the principal that created the task can open its handle, and only through
 * an endpoint that shows the task's server. A handle that does not open is
 * an unknown task, whatever the reason.
 */
import { CLIENT_CAPABILITIES_META_KEY, type Result, type Server, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { GatewayError, methodNotFound } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { exposeResultUris } from '../pipeline/forward.js';
import { TASKS_EXTENSION, type TaskMethod } from '../upstream/tasks.js';
import type { SessionServerDeps, SessionState, TaskEvent } from './deps.js';
import { MAX_UPSTREAM_TASK_ID } from './task-handles.js';

export { isTaskMethod } from '../upstream/tasks.js';

const EVENT_OF: Record<TaskMethod, TaskEvent['event']> = { 'tasks/get': 'polled', 'tasks/update': 'updated', 'tasks/cancel': 'cancelled' };

/** Params of a tasks method as the SDK server hands them on; routeTaskRequest checks the rest. */
const TaskParams = z.looseObject({});

/**
 * `tasks/get` and `tasks/cancel` are also 2025-11-25 method names, which the
 * SDK server answers "method not found" on a 2026-07-28 request unless a
 * handler with its own schema is registered for them (`tasks/update` reaches
 * the fallback handler as it is).
 */
export function registerTaskMethods(server: Server, route: (method: TaskMethod, params: Record<string, unknown>, ctx: ServerContext) => Promise<Result>): void {
  for (const method of ['tasks/get', 'tasks/cancel'] as const) {
    server.setRequestHandler(method, { params: TaskParams }, (params, ctx) => route(method, params as Record<string, unknown>, ctx));
  }
}

/** Whether this request's client declared the tasks extension (only a 2026-07-28 request can). */
export function acceptsTask(ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  const declared = capabilities?.extensions?.[TASKS_EXTENSION];
  return typeof declared === 'object' && declared !== null;
}

/** A task the upstream created for `principal`'s call, as the client sees it: under its handle. */
export function asClientTask(deps: SessionServerDeps, principal: Principal, server: string, result: Result, requestId?: string): Result {
  const task = result as Result & { resultType?: unknown; taskId?: unknown };
  if (task.resultType !== 'task') return result;
  if (typeof task.taskId !== 'string' || task.taskId.length === 0) throw badUpstreamTask(server, 'a task without a taskId');
  if (task.taskId.length > MAX_UPSTREAM_TASK_ID) throw badUpstreamTask(server, `a task id longer than ${MAX_UPSTREAM_TASK_ID} characters`);
  deps.taskEvents({ event: 'created', principal: principal.id, server, upstreamTaskId: task.taskId, ...(requestId ? { requestId } : {}) });
  return { ...task, taskId: deps.tasks.issue(principal.id, server, task.taskId) };
}

/** `tasks/get`, `tasks/update` or `tasks/cancel`, routed back to the upstream that holds the task. */
export async function routeTaskRequest(
  deps: SessionServerDeps,
  state: SessionState,
  principal: Principal,
  method: TaskMethod,
  params: Record<string, unknown>,
  ctx: ServerContext,
): Promise<Result> {
  if (state.info.era !== 'modern') throw methodNotFound(method);
  const handle = params.taskId;
  if (typeof handle !== 'string') throw new GatewayError('INVALID_PARAMS', 'params.taskId must be a string', { field: 'taskId' });
  const opened = deps.tasks.open(handle, principal.id);
  const upstream = opened && state.view.hasServer(opened.server) ? deps.upstreams.find((u) => u.name === opened.server) : undefined;
  if (!opened || !upstream) {
    deps.taskEvents({ event: 'refused', principal: principal.id, method });
    throw unknownTask(handle);
  }
  const connection = await deps.pool.acquire(upstream, state.info, principal.id);
  const forwarded: Record<string, unknown> = { ...withoutMeta(params), taskId: opened.upstreamTaskId };
  // The SDK server lifts a 2026-07-28 request's inputResponses off its params (as it does for a retried call).
  if (method === 'tasks/update' && forwarded.inputResponses === undefined) forwarded.inputResponses = ctx.mcpReq.inputResponses ?? {};
  const inputKeys = method === 'tasks/update' ? Object.keys(forwarded.inputResponses as object) : undefined;
  deps.taskEvents({
    event: EVENT_OF[method],
    principal: principal.id,
    server: opened.server,
    upstreamTaskId: opened.upstreamTaskId,
    ...(inputKeys ? { inputKeys } : {}),
  });
  const result = await connection.request(method, forwarded, {
    signal: ctx.mcpReq.signal,
    caller: { id: principal.id, groups: principal.groups, scopes: principal.scopes },
  });
  return asClientView(result, handle, upstream.config.prefix);
}

/** The upstream's answer about a task, under the client's handle, URIs in a completed result exposed as the call's would be. */
function asClientView(result: Result, handle: string, prefix: string): Result {
  const task = result as Result & { taskId?: unknown; status?: unknown; result?: unknown };
  if (task.taskId === undefined) return result;
  const view: Result = { ...task, taskId: handle };
  if (task.status === 'completed' && typeof task.result === 'object' && task.result !== null) {
    view.result = exposeResultUris('tools/call', task.result as Result, prefix);
  }
  return view;
}

/** The client's `_meta` is its own: the gateway's envelope goes upstream instead (upstream/tasks.ts). */
function withoutMeta(params: Record<string, unknown>): Record<string, unknown> {
  const { _meta: _own, ...rest } = params;
  return rest;
}

function unknownTask(handle: string): GatewayError {
  return new GatewayError('INVALID_PARAMS', `unknown task: ${handle.slice(0, 80)}`, { field: 'taskId' });
}

function badUpstreamTask(server: string, what: string): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', `upstream "${server}" answered with ${what}`, { server });
}
