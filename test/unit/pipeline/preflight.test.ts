/**
 * scopeShortfall: before the MCP transport takes a request, only a request
 * that lacks scopes (and nothing else) is singled out, so the HTTP front can
 * answer 403 insufficient_scope; everything else is left to the pipeline.
 */
import { describe, expect, it } from 'vitest';
import { scopeShortfall } from '../../../src/pipeline/preflight.js';
import { engineOf } from '../policy/helpers.js';
import { fleet, principal, session } from './helpers.js';

const { catalog } = fleet();
const engine = engineOf(`
rules:
  - { id: writes, match: { servers: [github], tools: ["create_*"] }, effect: require, scopes: [repo.write] }
  - { id: prompts, match: { servers: [github], prompts: [triage] }, effect: require, scopes: [triage] }
  - { id: secrets, match: { servers: [github], resources: ["repo://octo/secret*"] }, effect: require, scopes: [secrets] }
  - { id: no-list, match: { tools: [list_issues] }, effect: deny }
`);
const who = { principal: principal(), session: session() };
const shortfall = (message: unknown, w = who) => scopeShortfall(catalog, engine, w, message);

describe('scopeShortfall', () => {
  it('names the missing scopes of a tool call', () => {
    const d = shortfall({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'github__create_issue', arguments: {} } });
    expect(d).toMatchObject({ allowed: false, code: 'INSUFFICIENT_SCOPE', ruleId: 'writes', missingScopes: ['repo.write'] });
  });

  it('nothing for a caller who has the scope', () => {
    expect(
      shortfall({ method: 'tools/call', params: { name: 'github__create_issue' } }, { ...who, principal: principal({ scopes: ['repo.write'] }) }),
    ).toBeUndefined();
  });

  it('a plain denial is left to the pipeline (it is not a scope problem)', () => {
    expect(shortfall({ method: 'tools/call', params: { name: 'github__list_issues' } })).toBeUndefined();
  });

  it('covers prompts, reads and subscriptions', () => {
    expect(shortfall({ method: 'prompts/get', params: { name: 'github__triage' } })?.missingScopes).toEqual(['triage']);
    expect(shortfall({ method: 'resources/read', params: { uri: 'github+repo://octo/secret' } })?.missingScopes).toEqual(['secrets']);
    expect(shortfall({ method: 'resources/subscribe', params: { uri: 'github+repo://octo/secret' } })?.missingScopes).toEqual(['secrets']);
  });

  it('decides URIs on their canonical form: another spelling does not slip past the step-up', () => {
    for (const uri of ['GITHUB+REPO://OCTO/secret', 'github+repo://octo/x/../secret', 'github+repo://octo/%73ecret']) {
      expect(shortfall({ method: 'resources/read', params: { uri } })?.code, uri).toBe('INSUFFICIENT_SCOPE');
    }
  });

  it.each([
    ['an unknown tool', { method: 'tools/call', params: { name: 'github__nope' } }],
    ['a tool of a down server', { method: 'tools/call', params: { name: 'slack__post' } }],
    ['non-object arguments', { method: 'tools/call', params: { name: 'github__create_issue', arguments: 'x' } }],
    ['a name that is not a string', { method: 'tools/call', params: { name: 42 } }],
    ['no params at all', { method: 'tools/call' }],
    ['params that are a string', { method: 'tools/call', params: 'github__create_issue' }],
    ['a method it does not check', { method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'github__triage' } } }],
    ['an unsubscribe', { method: 'resources/unsubscribe', params: { uri: 'github+repo://octo/secret' } }],
    ['a list', { method: 'tools/list' }],
    ['a method that is not a string', { method: 7 }],
    ['a batch (array)', [{ method: 'tools/call', params: { name: 'github__create_issue' } }]],
    ['null', null],
    ['undefined', undefined],
  ])('leaves %s to the pipeline', (_label, message) => {
    expect(shortfall(message)).toBeUndefined();
  });
});
