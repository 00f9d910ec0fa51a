/**
 * resolve-route against a real Catalog: which upstream and original name an
 * exposed name or URI reaches, in what form it is forwarded, and the spec's
 * error (touching nothing) for anything it cannot route.
 */
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../src/catalog/catalog.js';
import { hashFields } from '../../../src/contracts/contract.js';
import { ContractGuard } from '../../../src/contracts/guard.js';
import { emptyLock, withEntry } from '../../../src/contracts/lock.js';
import type { ProfileSettings } from '../../../src/config/schema/index.js';
import { GatewayError } from '../../../src/core/errors.js';
import type { CallContext, RoutedMethod } from '../../../src/pipeline/context.js';
import { resolve, resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { createView } from '../../../src/pipeline/view.js';
import { context, fleet, template, tool, upstream } from './helpers.js';

const { github, fs, slack, catalog } = fleet();
const stage = resolveRoute(catalog);

function routed(method: RoutedMethod, params: Record<string, unknown>, over: Partial<CallContext> = {}): CallContext {
  const ctx = context(method, params, over);
  stage.run(ctx);
  return ctx;
}

/** Runs the stage, expects it to refuse, and checks it left the context untouched. */
function refusal(method: RoutedMethod, params: Record<string, unknown>, over: Partial<CallContext> = {}, c: Catalog = catalog): GatewayError {
  const ctx = context(method, params, over);
  let caught: unknown;
  try {
    resolveRoute(c).run(ctx);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GatewayError);
  expect(ctx.forwarded).toBeUndefined();
  return caught as GatewayError;
}

const profile = (over: Partial<ProfileSettings>): ProfileSettings => ({ name: 'p', path: '/mcp/p', enabled: true, disclosure: 'full', pinned: [], ...over });

describe('resolve-route: tools', () => {
  it('routes an exposed name to its upstream, original name and annotations', () => {
    const ctx = routed('tools/call', { name: 'github__create_issue', arguments: { title: 't' } });
    expect(ctx.target).toEqual({
      upstream: github,
      exposed: 'github__create_issue',
      original: 'create_issue',
      kind: 'tool',
      annotations: { readOnlyHint: false, destructiveHint: false },
    });
    expect(ctx.forwarded).toEqual({ name: 'create_issue', arguments: { title: 't' } });
  });

  it('routes an unprefixed server tool under its own name', () => {
    const ctx = routed('tools/call', { name: 'read_file' });
    expect(ctx.target).toMatchObject({ upstream: fs, original: 'read_file', exposed: 'read_file' });
  });

  it.each(['create_issue', 'GITHUB__create_issue', 'github__Create_Issue', 'github_create_issue', 'github__create_issue ', 'github__', ''])(
    '%j is an unknown tool',
    (name) => {
      const err = refusal('tools/call', { name });
      expect(err.code).toBe('UNKNOWN_TOOL');
      expect(err.jsonRpcCode).toBe(-32602);
      expect(err.data).toEqual({ name });
    },
  );

  it('a name carrying the prefix of a server that is down is UPSTREAM_UNAVAILABLE (retry later), not unknown', () => {
    const err = refusal('tools/call', { name: 'slack__post' });
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.data).toEqual({ server: 'slack', reason: 'down' });
  });

  it("names the down server's error class when it has one", () => {
    slack.errorClass = 'spawn-failed';
    try {
      expect(refusal('tools/call', { name: 'slack__anything' }).data).toEqual({ server: 'slack', reason: 'spawn-failed' });
    } finally {
      slack.errorClass = undefined;
    }
  });

  it('a disabled server is not advertised as coming back: its names are unknown', () => {
    const off = upstream('off', { tools: [tool('t')] }, { state: 'disabled' });
    const c = new Catalog([off], '__');
    expect(refusal('tools/call', { name: 'off__t' }, {}, c).code).toBe('UNKNOWN_TOOL');
  });

  it.each([undefined, 7, null, ['github__create_issue'], { name: 'github__create_issue' }])('a name that is %j is INVALID_PARAMS on field name', (name) => {
    const err = refusal('tools/call', { name });
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.data).toEqual({ field: 'name' });
  });

  it('refuses non-object arguments with -32602 and forwards nothing', () => {
    const err = refusal('tools/call', { name: 'github__create_issue', arguments: 'rm -rf /' });
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.data).toEqual({ field: 'arguments' });
  });

  it('uses the target server forwardMeta: the same _meta reaches one server and not another', () => {
    const meta = { 'x-tenant': 'acme', 'acme/user': 'u1', progressToken: 3 };
    expect(routed('tools/call', { name: 'github__list_issues', _meta: meta }).forwarded?._meta).toEqual({ 'x-tenant': 'acme', 'acme/user': 'u1' });
    expect('_meta' in routed('tools/call', { name: 'read_file', _meta: meta }).forwarded!).toBe(false);
  });
});

describe('resolve-route: servers that act as each caller', () => {
  const notion = upstream('notion', {}, { credentials: 'user-oauth', transport: 'http' });
  const c = new Catalog([notion, github], '__');

  it('routes any name under its prefix (the upstream knows the caller catalog)', () => {
    const ctx = context('tools/call', { name: 'notion__search_pages', arguments: { q: 'x' } });
    resolveRoute(c).run(ctx);
    expect(ctx.target).toMatchObject({ upstream: notion, original: 'search_pages', exposed: 'notion__search_pages', kind: 'tool' });
    expect(ctx.target?.annotations).toBeUndefined();
    expect(ctx.forwarded).toEqual({ name: 'search_pages', arguments: { q: 'x' } });
  });

  it('routes prompts the same way', () => {
    expect(resolve(c, { method: 'prompts/get', params: { name: 'notion__summarise' } })).toMatchObject({
      upstream: notion,
      original: 'summarise',
      kind: 'prompt',
    });
  });

  it('the prefix alone names nothing: unknown, never forwarded with an empty name', () => {
    expect(refusal('tools/call', { name: 'notion__' }, {}, c).code).toBe('UNKNOWN_TOOL');
  });

  describe('with pinning on, a call by name is decided on the lock', () => {
    const pinned = upstream('notion', {}, { credentials: 'user-oauth', transport: 'http' });
    pinned.config.pinning = { mode: 'enforce', onNew: 'quarantine', onChanged: 'quarantine' };
    const approved = { name: 'search_pages', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } };
    const lock = withEntry(emptyLock(), 'notion', 'tool', 'search_pages', { hash: hashFields(approved), contract: approved });
    const guard = new ContractGuard({ scan: { mode: 'off', severity: 'high' }, validateArguments: 'enforce' }, lock, () => {});
    const pc = new Catalog([pinned], '__', guard);

    it('an approved tool is routed with its approved annotations', () => {
      const ctx = context('tools/call', { name: 'notion__search_pages', arguments: {} });
      resolveRoute(pc).run(ctx);
      expect(ctx.target?.annotations).toEqual({ readOnlyHint: true });
      expect(ctx.target?.contract?.status).toBe('pinned');
    });

    it('a tool the lock does not have is quarantined, not forwarded', () => {
      const err = refusal('tools/call', { name: 'notion__delete_everything' }, {}, pc);
      expect(err.code).toBe('TOOL_QUARANTINED');
      expect(err.data).toMatchObject({ server: 'notion', name: 'delete_everything', reason: 'new' });
    });
  });

  it('a per-caller server that is down answers UPSTREAM_UNAVAILABLE', () => {
    const down = upstream('linear', {}, { credentials: 'token-exchange', transport: 'http', state: 'down' });
    const err = refusal('tools/call', { name: 'linear__issue' }, {}, new Catalog([down], '__'));
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('resolve-route: prompts', () => {
  it('routes a prompt to its original name', () => {
    const ctx = routed('prompts/get', { name: 'github__triage', arguments: { level: 'high' } });
    expect(ctx.target).toEqual({ upstream: github, exposed: 'github__triage', original: 'triage', kind: 'prompt' });
    expect(ctx.forwarded).toEqual({ name: 'triage', arguments: { level: 'high' } });
  });

  it('a tool name is not a prompt', () => {
    expect(refusal('prompts/get', { name: 'github__create_issue' }).code).toBe('UNKNOWN_PROMPT');
  });

  it('a prompt with array arguments is refused', () => {
    expect(refusal('prompts/get', { name: 'github__triage', arguments: [] }).data).toEqual({ field: 'arguments' });
  });
});

describe('resolve-route: resources', () => {
  it('routes a prefixed URI and forwards the original', () => {
    const ctx = routed('resources/read', { uri: 'github+repo://octo/hello' });
    expect(ctx.target).toEqual({ upstream: github, exposed: 'github+repo://octo/hello', original: 'repo://octo/hello', kind: 'resource' });
    expect(ctx.forwarded).toEqual({ uri: 'repo://octo/hello' });
  });

  it('canonicalises other spellings of the same URI before routing (prefix and scheme case, host case, escapes)', () => {
    const ctx = routed('resources/read', { uri: 'GitHub+REPO://Octo/%68ello' });
    expect(ctx.target).toMatchObject({ upstream: github, exposed: 'github+repo://octo/hello', original: 'repo://octo/hello' });
    expect(ctx.forwarded?.uri).toBe('repo://octo/hello');
  });

  it('resolves dot segments, plain or percent-encoded, before anything decides on the URI', () => {
    expect(routed('resources/read', { uri: 'file:///srv/data/../../etc/passwd' }).forwarded?.uri).toBe('file:///etc/passwd');
    expect(routed('resources/read', { uri: 'file:///srv/%2e%2e/etc/passwd' }).target).toMatchObject({ upstream: fs, original: 'file:///etc/passwd' });
  });

  it.each(['resources/subscribe', 'resources/unsubscribe'] as const)('%s routes like a read', (method) => {
    const ctx = routed(method, { uri: 'github+repo://octo/x' });
    expect(ctx.target).toMatchObject({ upstream: github, original: 'repo://octo/x', kind: 'resource' });
    expect(ctx.forwarded).toEqual({ uri: 'repo://octo/x' });
  });

  it('a URI with a dot segment that cannot be resolved is refused, not passed', () => {
    const err = refusal('resources/read', { uri: 'github+urn:a/../b' });
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.data).toMatchObject({ uri: 'github+urn:a/../b' });
    expect(String(err.data.reason)).toMatch(/segment/);
  });

  it("a disabled server's URIs are unknown, like its names", () => {
    const off = upstream('vault', { resourceTemplates: [template('secret://{name}')] }, { state: 'disabled' });
    const err = refusal('resources/read', { uri: 'vault+secret://db' }, {}, new Catalog([off, github], '__'));
    expect(err.code).toBe('UNKNOWN_RESOURCE');
  });

  it('a relative URI is refused', () => {
    const err = refusal('resources/read', { uri: 'just/a/path' });
    expect(err.code).toBe('INVALID_PARAMS');
    expect(String(err.data.reason)).toMatch(/absolute/);
  });

  it('an unprefixed URI with two unprefixed servers and no listing or template is unknown', () => {
    const a = upstream('a', {}, { prefix: '' });
    const b = upstream('b', {}, { prefix: '' });
    const err = refusal('resources/read', { uri: 'mem://x' }, {}, new Catalog([a, b], '__'));
    expect(err.code).toBe('UNKNOWN_RESOURCE');
    expect(err.data).toEqual({ uri: 'mem://x' });
  });

  it.each([undefined, 1, { href: 'x' }])('a uri that is %j is INVALID_PARAMS on field uri', (uri) => {
    expect(refusal('resources/read', { uri }).data).toEqual({ field: 'uri' });
  });
});

describe('resolve-route: completions', () => {
  it('a prompt ref is routed and rewritten to the original name', () => {
    const ctx = routed('completion/complete', { ref: { type: 'ref/prompt', name: 'github__triage' }, argument: { name: 'a', value: '' } });
    expect(ctx.target).toMatchObject({ upstream: github, original: 'triage', kind: 'prompt' });
    expect(ctx.forwarded?.ref).toEqual({ type: 'ref/prompt', name: 'triage' });
  });

  it('a resource-template ref is routed by its exposed template', () => {
    const ctx = routed('completion/complete', { ref: { type: 'ref/resource', uri: 'github+repo://{owner}/{name}' }, argument: { name: 'owner', value: 'o' } });
    expect(ctx.target).toMatchObject({ upstream: github, original: 'repo://{owner}/{name}', kind: 'resource' });
    expect(ctx.forwarded?.ref).toEqual({ type: 'ref/resource', uri: 'repo://{owner}/{name}' });
  });

  it('a resource ref that is not a template is routed as a URI (canonical)', () => {
    const ctx = routed('completion/complete', { ref: { type: 'ref/resource', uri: 'GITHUB+repo://octo/hello' }, argument: { name: 'a', value: '' } });
    expect(ctx.target).toMatchObject({ upstream: github, original: 'repo://octo/hello' });
  });

  it.each([
    ['ref is missing', {}, 'ref'],
    ['ref is a string', { ref: 'ref/prompt' }, 'ref'],
    ['ref has another type', { ref: { type: 'ref/tool', name: 'github__create_issue' } }, 'ref.type'],
    ['a prompt ref without a name', { ref: { type: 'ref/prompt' } }, 'ref.name'],
    ['a resource ref with a numeric uri', { ref: { type: 'ref/resource', uri: 5 } }, 'ref.uri'],
  ])('%s: INVALID_PARAMS on %s', (_label, params, field) => {
    const err = refusal('completion/complete', params as Record<string, unknown>);
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.data.field).toBe(field);
  });

  it('an unknown prompt ref is UNKNOWN_PROMPT, one of a down server UPSTREAM_UNAVAILABLE', () => {
    expect(refusal('completion/complete', { ref: { type: 'ref/prompt', name: 'github__nope' } }).code).toBe('UNKNOWN_PROMPT');
    expect(refusal('completion/complete', { ref: { type: 'ref/prompt', name: 'slack__p' } }).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('resolve-route: through a profile view', () => {
  const view = createView(profile({ servers: ['github'], tools: ['github__list_*'], prompts: ['nothing'], resources: ['github+repo://octo/hello*'] }));

  it('routes what the view shows', () => {
    expect(routed('tools/call', { name: 'github__list_issues' }, { view }).target?.original).toBe('list_issues');
    expect(routed('resources/read', { uri: 'github+repo://octo/hello' }, { view }).target?.original).toBe('repo://octo/hello');
  });

  it('a tool of a shown server but outside the globs is unknown, exactly like a missing one', () => {
    const outside = refusal('tools/call', { name: 'github__create_issue' }, { view });
    const missing = refusal('tools/call', { name: 'github__no_such_tool' }, { view });
    expect(outside.toJsonRpcError()).toEqual({
      code: -32602,
      message: 'Unknown tool: github__create_issue',
      data: { code: 'UNKNOWN_TOOL', name: 'github__create_issue' },
    });
    expect(missing.toJsonRpcError()).toEqual({
      code: -32602,
      message: 'Unknown tool: github__no_such_tool',
      data: { code: 'UNKNOWN_TOOL', name: 'github__no_such_tool' },
    });
  });

  it('a tool of a server outside the profile is unknown', () => {
    expect(refusal('tools/call', { name: 'read_file' }, { view }).code).toBe('UNKNOWN_TOOL');
  });

  it('a prompt outside the view is unknown, for prompts/get and for completions', () => {
    expect(refusal('prompts/get', { name: 'github__triage' }, { view }).code).toBe('UNKNOWN_PROMPT');
    expect(refusal('completion/complete', { ref: { type: 'ref/prompt', name: 'github__triage' } }, { view }).code).toBe('UNKNOWN_PROMPT');
  });

  it('decides resources on the canonical URI: another spelling cannot escape the glob', () => {
    expect(routed('resources/read', { uri: 'GITHUB+REPO://OCTO/hello' }, { view }).target?.original).toBe('repo://octo/hello');
    const err = refusal('resources/read', { uri: 'github+repo://octo/hello/../../secret' }, { view });
    expect(err.code).toBe('UNKNOWN_RESOURCE');
    expect(err.data).toEqual({ uri: 'github+repo://octo/secret' });
    expect(refusal('resources/read', { uri: 'github+repo://octo/hello/%2E%2E/%2e%2e/secret' }, { view }).code).toBe('UNKNOWN_RESOURCE');
  });

  it('a resource of a server outside the profile is unknown', () => {
    expect(refusal('resources/read', { uri: 'file:///etc/passwd' }, { view }).code).toBe('UNKNOWN_RESOURCE');
  });

  it('a per-caller tool outside the profile servers is unknown', () => {
    const notion = upstream('notion', {}, { credentials: 'user-oauth', transport: 'http' });
    const c = new Catalog([github, notion], '__');
    expect(refusal('tools/call', { name: 'notion__search' }, { view: createView(profile({ servers: ['github'] })) }, c).code).toBe('UNKNOWN_TOOL');
  });
});
