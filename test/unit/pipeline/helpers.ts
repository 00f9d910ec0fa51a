/**
 * Shared builders for the pipeline's unit tests: real upstreams (never
 * started, their lists set by hand), a real Catalog over them, and a
 * CallContext with defaults. Nothing here opens a connection.
 */
import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/client';
import { Catalog } from '../../../src/catalog/catalog.js';
import type { ServerConfig } from '../../../src/config/schema/index.js';
import type { Principal } from '../../../src/core/principal.js';
import { silentLogger } from '../../../src/observability/log.js';
import type { CallContext, RoutedMethod, SessionInfo } from '../../../src/pipeline/context.js';
import { Upstream, type CallOrigin, type UpstreamLists } from '../../../src/upstream/server.js';

export interface UpstreamOptions {
  prefix?: string;
  state?: Upstream['state'];
  transport?: 'stdio' | 'http';
  forwardMeta?: string[];
  credentials?: ServerConfig['credentials'];
}

/** A ready upstream named `name` (prefix = name unless given) holding `lists`. */
export function upstream(name: string, lists: Partial<UpstreamLists> = {}, opts: UpstreamOptions = {}): Upstream {
  const config: ServerConfig = {
    name,
    spec: opts.transport === 'http' ? { type: 'http', url: 'http://127.0.0.1:1/mcp', headers: {} } : { type: 'stdio', command: 'true', args: [], env: {} },
    prefix: opts.prefix ?? name,
    timeoutMs: 1000,
    enabled: true,
    isolation: 'shared',
    maxProcesses: 1,
    trustAnnotations: false,
    pinning: { mode: 'off', onNew: 'quarantine', onChanged: 'quarantine' },
    forwardMeta: opts.forwardMeta ?? [],
    identityHeaders: {},
    credentials: opts.credentials ?? 'static',
  };
  const u = new Upstream(config, silentLogger);
  u.state = opts.state ?? 'ready';
  u.lists = { tools: [], resources: [], resourceTemplates: [], prompts: [], ...lists };
  return u;
}

export const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({ name, inputSchema: { type: 'object' }, ...extra });
export const prompt = (name: string): Prompt => ({ name });
export const resource = (uri: string): Resource => ({ uri, name: uri });
export const template = (uriTemplate: string): ResourceTemplateType => ({ uriTemplate, name: uriTemplate });

/**
 * The standard fleet: `github` (prefixed, stdio, forwards `acme/*` and
 * `x-tenant` _meta), `fs` (unprefixed, http, serves file:// by template),
 * and `slack` (prefixed, down).
 */
export function fleet() {
  const github = upstream(
    'github',
    {
      tools: [
        tool('create_issue', { annotations: { readOnlyHint: false, destructiveHint: false } }),
        tool('list_issues', { annotations: { readOnlyHint: true } }),
      ],
      prompts: [prompt('triage')],
      resources: [resource('repo://octo/hello')],
      resourceTemplates: [template('repo://{owner}/{name}')],
    },
    { forwardMeta: ['acme/*', 'x-tenant'] },
  );
  const fs = upstream('fs', { tools: [tool('read_file')], resourceTemplates: [template('file:///{path}')] }, { prefix: '', transport: 'http' });
  const slack = upstream('slack', { tools: [tool('post')] }, { state: 'down' });
  const catalog = new Catalog([github, fs, slack], '__');
  return { github, fs, slack, catalog };
}

export function principal(over: Partial<Principal> = {}): Principal {
  return { id: 'apikey:alice', kind: 'apikey', subject: 'alice', scopes: [], groups: [], claims: {}, ...over };
}

export function session(over: Partial<SessionInfo> = {}): SessionInfo {
  return { id: 'sess-1', transport: 'streamable-http', era: 'modern', ...over };
}

/** An origin that must not be used by the code under test. */
export const unusedOrigin: CallOrigin = {
  sessionId: 'sess-1',
  clientCapabilities: undefined,
  send: () => Promise.reject(new Error('origin.send was not expected')),
  notify: () => Promise.reject(new Error('origin.notify was not expected')),
};

/** A call context for `method` with `params`, by alice on session sess-1, unless overridden. */
export function context(method: RoutedMethod, params: Record<string, unknown>, over: Partial<CallContext> = {}): CallContext {
  return {
    method,
    params,
    session: session(),
    principal: principal(),
    origin: unusedOrigin,
    signal: new AbortController().signal,
    startedAt: performance.now(),
    ...over,
  };
}
