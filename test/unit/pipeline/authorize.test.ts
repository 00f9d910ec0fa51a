/**
 * authorize: the decision input is built from what will be forwarded
 * (ctx.forwarded, the original name, the canonical URI), and a refusal stops
 * the request with POLICY_DENIED or INSUFFICIENT_SCOPE.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { Decision, DecisionInput } from '../../../src/policy/types.js';
import { authorize, decisionInput, denial, type DecisionMaker } from '../../../src/pipeline/authorize.js';
import type { CallContext, RoutedMethod } from '../../../src/pipeline/context.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { engineOf } from '../policy/helpers.js';
import { context, fleet, principal, session } from './helpers.js';

const { catalog } = fleet();
const NOW = new Date('2026-03-04T05:06:07Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

/** A context resolved by the real resolve-route stage. */
function resolved(method: RoutedMethod, params: Record<string, unknown>, over: Partial<CallContext> = {}): CallContext {
  const ctx = context(method, params, over);
  resolveRoute(catalog).run(ctx);
  return ctx;
}

/** A policy that allows everything and remembers what it was asked. */
function recording(answer: Decision = { allowed: true, reason: 'ok', trace: [] }) {
  const inputs: DecisionInput[] = [];
  const maker: DecisionMaker = {
    decide(input) {
      inputs.push(input);
      return answer;
    },
  };
  return { inputs, maker };
}

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected the stage to refuse the request');
}

describe('authorize: the decision input', () => {
  it('a tool call is decided on the original name, its annotations and the forwarded arguments', () => {
    const { inputs, maker } = recording();
    const ctx = resolved('tools/call', { name: 'github__create_issue', arguments: { title: 'bug' } });
    authorize(() => maker).run(ctx);
    expect(inputs).toEqual([
      {
        principal: principal(),
        method: 'tools/call',
        server: { name: 'github', transport: 'stdio' },
        tool: { name: 'create_issue', annotations: { readOnlyHint: false, destructiveHint: false } },
        args: { title: 'bug' },
        request: { time: NOW, transport: 'streamable-http', sessionId: 'sess-1' },
      },
    ]);
    expect(ctx.decisionInput).toBe(inputs[0]);
  });

  it('reads the arguments from ctx.forwarded, never from the raw params', () => {
    const ctx = resolved('tools/call', { name: 'github__create_issue', arguments: { title: 'as sent' } });
    ctx.forwarded = { ...ctx.forwarded, arguments: { title: 'as forwarded' } };
    expect(decisionInput(ctx).args).toEqual({ title: 'as forwarded' });
  });

  it('a call without arguments is decided with {} (so conditions on args see an empty map)', () => {
    const input = decisionInput(resolved('tools/call', { name: 'read_file' }));
    expect(input.args).toEqual({});
    expect(input.tool).toEqual({ name: 'read_file', annotations: {} });
    expect(input.server).toEqual({ name: 'fs', transport: 'http' });
  });

  it('a prompt is decided on its original name and arguments', () => {
    const input = decisionInput(resolved('prompts/get', { name: 'github__triage', arguments: { level: 'high' } }));
    expect(input).toMatchObject({ method: 'prompts/get', prompt: { name: 'triage' }, args: { level: 'high' } });
    expect(input.tool).toBeUndefined();
    expect(input.resource).toBeUndefined();
  });

  it.each(['resources/read', 'resources/subscribe', 'resources/unsubscribe'] as const)('%s is decided on the canonical original URI', (method) => {
    const input = decisionInput(resolved(method, { uri: 'GITHUB+Repo://OCTO/a/./b/%7Euser' }));
    expect(input).toMatchObject({ method, resource: { uri: 'repo://octo/a/b/~user' }, args: {} });
    expect(input.tool).toBeUndefined();
  });

  it('a completion is decided as the use of its ref, with no arguments', () => {
    const onPrompt = decisionInput(
      resolved('completion/complete', { ref: { type: 'ref/prompt', name: 'github__triage' }, argument: { name: 'level', value: 'h' } }),
    );
    expect(onPrompt).toMatchObject({ method: 'completion/complete', prompt: { name: 'triage' }, args: {} });
    expect(onPrompt.resource).toBeUndefined();
    const onTemplate = decisionInput(
      resolved('completion/complete', { ref: { type: 'ref/resource', uri: 'github+repo://{owner}/{name}' }, argument: { name: 'owner', value: '' } }),
    );
    expect(onTemplate).toMatchObject({ resource: { uri: 'repo://{owner}/{name}' }, args: {} });
    expect(onTemplate.prompt).toBeUndefined();
  });

  it("carries the session's profile and transport, and the caller", () => {
    const caller = principal({ id: 'jwt:https://idp#bob', kind: 'jwt', subject: 'bob', groups: ['eng'], scopes: ['repo'] });
    const input = decisionInput(
      resolved('tools/call', { name: 'read_file' }, { principal: caller, session: session({ id: 'S9', transport: 'sse', profile: 'sales' }) }),
    );
    expect(input.principal).toBe(caller);
    expect(input.request).toEqual({ time: NOW, transport: 'sse', sessionId: 'S9', profile: 'sales' });
  });

  it('no profile key at all for the whole-gateway endpoint', () => {
    expect('profile' in decisionInput(resolved('tools/call', { name: 'read_file' })).request).toBe(false);
  });

  it('asks the policy in force at each request (hot reload swaps it)', () => {
    const first = recording();
    const second = recording({ allowed: false, code: 'POLICY_DENIED', ruleId: 'new', reason: 'reloaded', trace: [] });
    let current = first.maker;
    const stage = authorize(() => current);
    stage.run(resolved('tools/call', { name: 'read_file' }));
    current = second.maker;
    expect(thrown(() => stage.run(resolved('tools/call', { name: 'read_file' }))).data.ruleId).toBe('new');
    expect([first.inputs.length, second.inputs.length]).toEqual([1, 1]);
  });
});

describe('authorize: refusals', () => {
  it('a deny is POLICY_DENIED (-32003) with the rule and reason, and the decision is kept for the audit', () => {
    const engine = engineOf('rules: [ { id: no-issues, match: { servers: [github], tools: [create_issue] }, effect: deny } ]');
    const ctx = resolved('tools/call', { name: 'github__create_issue', arguments: {} });
    const err = thrown(() => authorize(() => engine).run(ctx));
    expect(err.code).toBe('POLICY_DENIED');
    expect(err.jsonRpcCode).toBe(-32003);
    expect(err.data).toEqual({ ruleId: 'no-issues', reason: expect.any(String) });
    expect(err.message).toBe(`Denied by policy: ${err.data.reason}`);
    expect(ctx.decision).toMatchObject({ allowed: false, ruleId: 'no-issues' });
    expect(ctx.decisionInput?.tool?.name).toBe('create_issue');
  });

  it('a missing scope is INSUFFICIENT_SCOPE (-32004) naming the scopes', () => {
    const engine = engineOf('rules: [ { id: writes, match: { servers: [github], tools: ["create_*"] }, effect: require, scopes: [repo.write, issues] } ]');
    const err = thrown(() =>
      authorize(() => engine).run(resolved('tools/call', { name: 'github__create_issue' }, { principal: principal({ scopes: ['issues'] }) })),
    );
    expect(err.code).toBe('INSUFFICIENT_SCOPE');
    expect(err.jsonRpcCode).toBe(-32004);
    expect(err.data).toMatchObject({ ruleId: 'writes', missingScopes: ['repo.write'] });
    expect(err.message).toMatch(/^Insufficient scope: /);
  });

  it('the same caller with the scope is allowed, and the decision is noted', () => {
    const engine = engineOf('rules: [ { id: writes, match: { servers: [github], tools: ["create_*"] }, effect: require, scopes: [repo.write] } ]');
    const ctx = resolved('tools/call', { name: 'github__create_issue' }, { principal: principal({ scopes: ['repo.write'] }) });
    authorize(() => engine).run(ctx);
    expect(ctx.decision?.allowed).toBe(true);
  });

  it('rules name original tools: a rule on the exposed name does not match', () => {
    const engine = engineOf('rules: [ { id: exposed-name, match: { tools: [github__create_issue] }, effect: deny } ]');
    const ctx = resolved('tools/call', { name: 'github__create_issue' });
    authorize(() => engine).run(ctx);
    expect(ctx.decision?.allowed).toBe(true);
  });

  it('conditions on arguments see the forwarded arguments', () => {
    const engine = engineOf(`rules: [ { id: no-prod, match: { tools: [create_issue] }, when: "args.repo == 'prod'", effect: deny } ]`);
    const stage = authorize(() => engine);
    expect(thrown(() => stage.run(resolved('tools/call', { name: 'github__create_issue', arguments: { repo: 'prod' } }))).data.ruleId).toBe('no-prod');
    expect(() => stage.run(resolved('tools/call', { name: 'github__create_issue', arguments: { repo: 'dev' } }))).not.toThrow();
  });

  it('another spelling of a denied URI is still denied (decided on the canonical form)', () => {
    const engine = engineOf('rules: [ { id: secrets, match: { servers: [github], resources: ["repo://octo/secret*"] }, effect: deny } ]');
    const stage = authorize(() => engine);
    for (const uri of [
      'github+repo://octo/secret',
      'GITHUB+REPO://OCTO/secret',
      'github+repo://octo/public/../secret',
      'github+repo://octo/%73ecret',
      'github+repo://octo/x/%2e%2e/secret',
    ]) {
      expect(thrown(() => stage.run(resolved('resources/read', { uri }))).code, uri).toBe('POLICY_DENIED');
    }
    expect(() => stage.run(resolved('resources/read', { uri: 'github+repo://octo/public' }))).not.toThrow();
  });
});

describe('denial', () => {
  it('defaults to POLICY_DENIED and leaves missingScopes out when there are none', () => {
    const err = denial({ allowed: false, reason: 'default deny', trace: [] });
    expect(err.code).toBe('POLICY_DENIED');
    expect(err.data).toEqual({ ruleId: undefined, reason: 'default deny' });
    expect('missingScopes' in err.data).toBe(false);
  });

  it('keeps the code and scopes it is given', () => {
    const err = denial({ allowed: false, code: 'INSUFFICIENT_SCOPE', ruleId: 'r', reason: 'needs a', missingScopes: ['a'], trace: [] });
    expect(err.toJsonRpcError()).toEqual({
      code: -32004,
      message: 'Insufficient scope: needs a',
      data: { code: 'INSUFFICIENT_SCOPE', ruleId: 'r', reason: 'needs a', missingScopes: ['a'] },
    });
  });
});
