/**
 * The upstream half of the 2026-07-28 tasks extension
 * (`io.modelcontextprotocol/tasks`): a `tools/call` that may come back as a
 * task, and the `tasks/get`/`tasks/update`/`tasks/cancel` that follow it.
 * The SDK client knows neither the methods nor `resultType: "task"`, so these
 * go out as direct requests (transport/direct-requests.ts) carrying the
 * request envelope the client would have sent, and their answers are read
 * here: an error becomes the ProtocolError the client would have thrown, a
 * `complete` result loses its discriminator as the client's results do, and
 * a task or an `input_required` result keeps it for the caller to act on.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  type Client,
  type ClientCapabilities,
  type Implementation,
  type Result,
} from '@modelcontextprotocol/client';
import type { DirectRequestOptions, DirectRequests } from './transport/direct-requests.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
export const TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const;
export type TaskMethod = (typeof TASK_METHODS)[number];

export function isTaskMethod(method: string): method is TaskMethod {
  return (TASK_METHODS as readonly string[]).includes(method);
}

/** Whether this connection's upstream speaks 2026-07-28 and declared the tasks extension. */
export function offersTasks(client: Client): boolean {
  if (client.getProtocolEra() !== 'modern') return false;
  const declared = client.getServerCapabilities()?.extensions?.[TASKS_EXTENSION];
  return typeof declared === 'object' && declared !== null;
}

/** Who the gateway is to the upstream: what every request's envelope says. */
export interface ClientIdentity {
  info: Implementation;
  capabilities: ClientCapabilities;
}

/**
 * Sends one request past the SDK client, with the client's own envelope and
 * the tasks extension declared in it (the caller accepts a task), and
 * returns the result with `resultType` kept unless it is `complete`.
 */
export async function sendDirect(
  direct: DirectRequests,
  client: Client,
  identity: ClientIdentity,
  request: { method: string; params: Record<string, unknown> },
  options: DirectRequestOptions,
): Promise<Result> {
  const params = { ...request.params, _meta: { ...(request.params._meta as Record<string, unknown> | undefined), ...envelope(client, identity) } };
  const response = await direct.request({ method: request.method, params }, options);
  if ('error' in response) {
    const { code, message, data } = response.error as { code: number; message: string; data?: unknown };
    throw new ProtocolError(code, message, data);
  }
  const result = response.result as Result & { resultType?: unknown };
  if (result.resultType !== 'complete') return result;
  const { resultType: _complete, ...plain } = result;
  return plain as Result;
}

/** The 2026-07-28 request envelope, with the tasks extension among the client's capabilities. */
function envelope(client: Client, identity: ClientIdentity): Record<string, unknown> {
  const extensions = { ...identity.capabilities.extensions, [TASKS_EXTENSION]: {} };
  return {
    [PROTOCOL_VERSION_META_KEY]: client.getNegotiatedProtocolVersion(),
    [CLIENT_INFO_META_KEY]: identity.info,
    [CLIENT_CAPABILITIES_META_KEY]: { ...identity.capabilities, extensions },
  };
}
