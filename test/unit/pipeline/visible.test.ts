/**
 * What a caller sees in a list: each entry decided as the request that
 * would use it, on its original name, with args-dependent conditions
 * counting as "may be allowed".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DecisionInput } from '../../../src/policy/types.js';
import type { DecisionMaker } from '../../../src/pipeline/authorize.js';
import { visible } from '../../../src/pipeline/visible.js';
import { engineOf } from '../policy/helpers.js';
import { fleet, principal, session } from './helpers.js';

const { catalog } = fleet();
const who = { principal: principal(), session: session() };
const NOW = new Date('2026-05-06T07:08:09Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

function recording() {
  const asked: { input: DecisionInput; options: { listing?: boolean } | undefined }[] = [];
  const maker: DecisionMaker = {
    decide(input, options) {
      asked.push({ input, options });
      return { allowed: true, reason: '', trace: [] };
    },
  };
  return { asked, maker };
}

describe('visible', () => {
  it('asks about each tool as a tools/list entry of its original name and annotations, in listing mode', () => {
    const { asked, maker } = recording();
    const shown = visible('tools', catalog.routedTools(), who, maker);
    expect(shown.map((t) => t.name)).toEqual(['github__create_issue', 'github__list_issues', 'read_file']);
    expect(asked.map((a) => a.options)).toEqual([{ listing: true }, { listing: true }, { listing: true }]);
    expect(asked[0]!.input).toEqual({
      principal: who.principal,
      method: 'tools/list',
      server: { name: 'github', transport: 'stdio' },
      tool: { name: 'create_issue', annotations: { readOnlyHint: false, destructiveHint: false } },
      request: { time: NOW, transport: 'streamable-http', sessionId: 'sess-1' },
    });
    expect(asked[2]!.input.tool).toEqual({ name: 'read_file', annotations: {} });
    expect(asked.every((a) => a.input.args === undefined)).toBe(true);
  });

  it('asks about prompts, resources and templates as entries of their list method, with the original name or URI', () => {
    const { asked, maker } = recording();
    visible('prompts', catalog.routedPrompts(), who, maker);
    visible('resources', catalog.routedResources(), who, maker);
    visible('resourceTemplates', catalog.routedResourceTemplates(), who, maker);
    expect(asked.map((a) => [a.input.method, a.input.prompt?.name ?? a.input.resource?.uri])).toEqual([
      ['prompts/list', 'triage'],
      ['resources/list', 'repo://octo/hello'],
      ['resources/templates/list', 'repo://{owner}/{name}'],
      ['resources/templates/list', 'file:///{path}'],
    ]);
  });

  it('a rule on the list method hides an entry without refusing the call, as policies/README.md says', () => {
    const engine = engineOf('rules: [ { id: unlisted, match: { servers: [github], tools: [create_issue], methods: [tools/list] }, effect: deny } ]');
    expect(visible('tools', catalog.routedTools(), who, engine).map((t) => t.name)).toEqual(['github__list_issues', 'read_file']);
    const call = {
      principal: who.principal,
      method: 'tools/call',
      server: { name: 'github', transport: 'stdio' as const },
      tool: { name: 'create_issue' },
      args: {},
      request: { time: NOW, transport: 'stdio', sessionId: 's' },
    };
    expect(engine.decide(call).allowed).toBe(true);
  });

  it('a rule on the use method hides the entry too', () => {
    const engine = engineOf('rules: [ { id: no-call, match: { servers: [github], tools: [create_issue], methods: [tools/call] }, effect: deny } ]');
    expect(visible('tools', catalog.routedTools(), who, engine).map((t) => t.name)).toEqual(['github__list_issues', 'read_file']);
  });

  it("carries the session's profile", () => {
    const { asked, maker } = recording();
    visible('tools', catalog.routedTools().slice(0, 1), { principal: who.principal, session: session({ profile: 'sales', transport: 'stdio' }) }, maker);
    expect(asked[0]!.input.request).toEqual({ time: NOW, transport: 'stdio', sessionId: 'sess-1', profile: 'sales' });
  });

  it('hides what the policy would deny, by original name', () => {
    const engine = engineOf('rules: [ { id: no-create, match: { servers: [github], tools: [create_issue] }, effect: deny } ]');
    expect(visible('tools', catalog.routedTools(), who, engine).map((t) => t.name)).toEqual(['github__list_issues', 'read_file']);
  });

  it('hides what needs a scope the caller lacks, shows it to one who has it', () => {
    const engine = engineOf('rules: [ { id: w, match: { tools: ["create_*"] }, effect: require, scopes: [write] } ]');
    expect(visible('tools', catalog.routedTools(), who, engine).map((t) => t.name)).not.toContain('github__create_issue');
    const writer = { ...who, principal: principal({ scopes: ['write'] }) };
    expect(visible('tools', catalog.routedTools(), writer, engine).map((t) => t.name)).toContain('github__create_issue');
  });

  it('a deny that depends on arguments cannot be known while listing: the tool stays listed', () => {
    const engine = engineOf(`rules: [ { id: no-prod, match: { tools: [create_issue] }, when: "args.repo == 'prod'", effect: deny } ]`);
    expect(visible('tools', catalog.routedTools(), who, engine).map((t) => t.name)).toContain('github__create_issue');
  });

  it('filters resources on their canonical original URI', () => {
    const engine = engineOf('rules: [ { id: hide, match: { resources: ["repo://octo/*"] }, effect: deny } ]');
    expect(visible('resources', catalog.routedResources(), who, engine)).toEqual([]);
    expect(visible('resourceTemplates', catalog.routedResourceTemplates(), who, engine).map((t) => t.uriTemplate)).toEqual([
      'github+repo://{owner}/{name}',
      'file:///{path}',
    ]);
  });

  it('with a deny-by-default policy an empty list, not an error', () => {
    expect(visible('tools', catalog.routedTools(), who, engineOf('rules: []', 'deny'))).toEqual([]);
  });
});
