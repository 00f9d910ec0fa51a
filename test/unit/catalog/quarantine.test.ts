/**
 * The catalog with a contract guard: a quarantined tool, prompt or template is
 * held back (not listed, not resolvable) but recorded, so that a call to it is
 * refused as quarantined; served entries carry their verdict.
 */
import type { Prompt, ResourceTemplateType, Tool } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../src/catalog/catalog.js';
import { QuarantineTable } from '../../../src/catalog/quarantine.js';
import type { ServerPinning } from '../../../src/config/schema/contracts.js';
import type { ServerConfig } from '../../../src/config/schema/index.js';
import { contractOf, hashFields, type ContractKind } from '../../../src/contracts/contract.js';
import { type ContractEvent, ContractGuard, type ContractSettings } from '../../../src/contracts/guard.js';
import { emptyLock, type Lock, withEntry } from '../../../src/contracts/lock.js';
import { GatewayError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/observability/log.js';
import { resolve } from '../../../src/pipeline/resolve-route.js';
import { Upstream, type UpstreamLists } from '../../../src/upstream/server.js';

const ENFORCE: ServerPinning = { mode: 'enforce', onNew: 'quarantine', onChanged: 'quarantine' };
const OFF: ServerPinning = { mode: 'off', onNew: 'quarantine', onChanged: 'quarantine' };

function upstream(name: string, lists: Partial<UpstreamLists>, pinning: ServerPinning = ENFORCE, prefix = name): Upstream {
  const config: ServerConfig = {
    name,
    spec: { type: 'stdio', command: 'true', args: [], env: {} },
    prefix,
    timeoutMs: 1000,
    enabled: true,
    isolation: 'shared',
    maxProcesses: 1,
    trustAnnotations: false,
    pinning,
    forwardMeta: [],
    identityHeaders: {},
    credentials: 'static',
  };
  const u = new Upstream(config, silentLogger);
  u.state = 'ready';
  u.lists = { tools: [], resources: [], resourceTemplates: [], prompts: [], ...lists };
  return u;
}

const createIssue = (): Tool => ({
  name: 'create_issue',
  description: 'Creates an issue.',
  inputSchema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
  annotations: { readOnlyHint: false, destructiveHint: false },
});
const listIssues = (): Tool => ({ name: 'list_issues', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } });
const triage = (): Prompt => ({ name: 'triage', description: 'Triage an issue.' });
const repoTemplate = (): ResourceTemplateType => ({ uriTemplate: 'repo://{owner}/{name}', name: 'repo' });

function approve(lock: Lock, server: string, kind: ContractKind, item: object): Lock {
  const c = contractOf(kind, server, item as Record<string, unknown>)!;
  return withEntry(lock, server, kind, c.name, { hash: hashFields(c.fields), contract: c.fields });
}

function guardOf(lock: Lock | undefined, over: Partial<ContractSettings> = {}) {
  const events: ContractEvent[] = [];
  const guard = new ContractGuard({ scan: { mode: 'off', severity: 'high' }, validateArguments: 'enforce', ...over }, lock, (e) => events.push(e));
  return { guard, events };
}

/** github serves create_issue (approved), list_issues (new), triage (new) and a template (new). */
function github(lists: Partial<UpstreamLists> = {}) {
  return upstream('github', { tools: [createIssue(), listIssues()], prompts: [triage()], resourceTemplates: [repoTemplate()], ...lists });
}
const GITHUB_LOCK = approve(emptyLock(), 'github', 'tool', createIssue());

describe('Catalog with a contract guard', () => {
  it('lists approved entries and holds back the quarantined ones', () => {
    const gh = github();
    const catalog = new Catalog([gh], '__', guardOf(GITHUB_LOCK).guard);
    expect(catalog.listTools().map((t) => t.name)).toEqual(['github__create_issue']);
    expect(catalog.listPrompts()).toEqual([]);
    expect(catalog.listResourceTemplates()).toEqual([]);
    expect(catalog.resolveTool('github__list_issues')).toBeUndefined();
    expect(catalog.resolvePrompt('github__triage')).toBeUndefined();
    expect(catalog.resolveTemplate('github+repo://{owner}/{name}')).toBeUndefined();
    expect(catalog.entries().map((e) => e.exposed)).toEqual(['github__create_issue']);
    expect(catalog.counts().github).toEqual({ tools: 1, prompts: 0, resources: 0, resourceTemplates: 0 });
  });

  it('records each quarantined entry under its exposed name, with its upstream and verdict', () => {
    const gh = github();
    const catalog = new Catalog([gh], '__', guardOf(GITHUB_LOCK).guard);
    const held = catalog.quarantined('github__list_issues');
    expect(held?.upstream).toBe(gh);
    expect(held?.exposed).toBe('github__list_issues');
    expect(held?.verdict).toMatchObject({ server: 'github', kind: 'tool', name: 'list_issues', status: 'new', quarantine: { reason: 'new', drifted: [] } });
    expect(catalog.quarantined('github__triage')?.verdict).toMatchObject({ kind: 'prompt', name: 'triage' });
    expect(catalog.quarantined('github+repo://{owner}/{name}')?.verdict).toMatchObject({ kind: 'resourceTemplate', name: 'repo://{owner}/{name}' });
    expect(catalog.quarantined('github__create_issue')).toBeUndefined();
    expect(catalog.quarantined('github__nothing')).toBeUndefined();
    expect(catalog.quarantinedEntries().map((q) => q.exposed)).toEqual(['github__list_issues', 'github__triage', 'github+repo://{owner}/{name}']);
    expect(catalog.review?.quarantined()).toHaveLength(3);
  });

  it('holds back a changed tool, saying what drifted', () => {
    const changed = { ...createIssue(), description: 'Creates an issue and closes it.' };
    const catalog = new Catalog([github({ tools: [changed] })], '__', guardOf(GITHUB_LOCK).guard);
    expect(catalog.listTools()).toEqual([]);
    expect(catalog.quarantined('github__create_issue')?.verdict).toMatchObject({
      status: 'changed',
      quarantine: { reason: 'changed', drifted: ['description'] },
    });
  });

  it('gives a served entry its verdict, and decisions the approved annotations', () => {
    const gh = github();
    const catalog = new Catalog([gh], '__', guardOf(GITHUB_LOCK).guard);
    const routed = catalog.resolveTool('github__create_issue');
    expect(routed?.contract).toMatchObject({ status: 'pinned', name: 'create_issue', annotations: { readOnlyHint: false, destructiveHint: false } });
    expect(catalog.routedTools()[0]?.contract).toBe(routed?.contract);
    expect(resolve(catalog, { method: 'tools/call', params: { name: 'github__create_issue' } })).toMatchObject({
      upstream: gh,
      original: 'create_issue',
      annotations: { readOnlyHint: false, destructiveHint: false },
      contract: routed?.contract,
    });
  });

  it('serves a new tool under onNew "allow", relying on no annotations', () => {
    const gh = upstream('github', { tools: [listIssues()] }, { ...ENFORCE, onNew: 'allow' });
    const catalog = new Catalog([gh], '__', guardOf(emptyLock()).guard);
    expect(catalog.listTools().map((t) => t.name)).toEqual(['github__list_issues']);
    expect(catalog.resolveTool('github__list_issues')?.contract).toMatchObject({ status: 'new', annotations: {} });
    expect(resolve(catalog, { method: 'tools/call', params: { name: 'github__list_issues' } }).annotations).toEqual({});
  });

  it('refuses a call to a quarantined tool or prompt as TOOL_QUARANTINED, not as unknown', () => {
    const catalog = new Catalog([github()], '__', guardOf(GITHUB_LOCK).guard);
    for (const [method, name] of [
      ['tools/call', 'github__list_issues'],
      ['prompts/get', 'github__triage'],
    ] as const) {
      let caught: unknown;
      try {
        resolve(catalog, { method, params: { name } });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      expect((caught as GatewayError).code).toBe('TOOL_QUARANTINED');
      expect((caught as GatewayError).data).toMatchObject({ server: 'github', exposed: name, reason: 'new', drifted: [] });
    }
  });

  it('lists everything and records nothing without a guard', () => {
    const catalog = new Catalog([github()], '__');
    expect(catalog.listTools()).toHaveLength(2);
    expect(catalog.listPrompts()).toHaveLength(1);
    expect(catalog.quarantined('github__list_issues')).toBeUndefined();
    expect(catalog.quarantinedEntries()).toEqual([]);
    expect(catalog.resolveTool('github__create_issue')?.contract).toBeUndefined();
    expect(catalog.review).toBeUndefined();
    expect(catalog.argumentValidation).toBe('off');
  });

  it('serves everything, unchecked, from a server with pinning off', () => {
    const gh = upstream('github', { tools: [createIssue(), listIssues()] }, OFF);
    const catalog = new Catalog([gh], '__', guardOf(emptyLock()).guard);
    expect(catalog.listTools()).toHaveLength(2);
    expect(catalog.resolveTool('github__list_issues')?.contract).toMatchObject({ status: 'unchecked', annotations: { readOnlyHint: true } });
    expect(catalog.quarantinedEntries()).toEqual([]);
  });

  it('re-judges on rebuild after the guard is given a new lock', () => {
    const gh = github();
    const { guard, events } = guardOf(GITHUB_LOCK);
    const catalog = new Catalog([gh], '__', guard);
    expect(events).toHaveLength(3);
    catalog.rebuild();
    expect(events).toHaveLength(3);
    guard.update(approve(GITHUB_LOCK, 'github', 'tool', listIssues()));
    catalog.rebuild();
    expect(catalog.listTools().map((t) => t.name)).toEqual(['github__create_issue', 'github__list_issues']);
    expect(catalog.quarantined('github__list_issues')).toBeUndefined();
    expect(catalog.quarantinedEntries().map((q) => q.exposed)).toEqual(['github__triage', 'github+repo://{owner}/{name}']);
  });

  it('keeps a quarantined name: a later server’s entry of the same name is hidden, not routed to', () => {
    const one = upstream('one', { tools: [listIssues()] }, ENFORCE, '');
    const two = upstream('two', { tools: [listIssues()] }, OFF, '');
    const catalog = new Catalog([one, two], '__', guardOf(emptyLock()).guard);
    expect(catalog.resolveTool('list_issues')).toBeUndefined();
    expect(catalog.quarantined('list_issues')?.upstream).toBe(one);
    expect(catalog.conflicts).toEqual([{ kind: 'tool', name: 'list_issues', winner: 'one', hidden: ['two'], reason: 'collision' }]);
    expect(() => resolve(catalog, { method: 'tools/call', params: { name: 'list_issues' } })).toThrow(/quarantined/);
  });

  it('judges only ready servers', () => {
    const gh = github();
    gh.state = 'down';
    const catalog = new Catalog([gh], '__', guardOf(GITHUB_LOCK).guard);
    expect(catalog.quarantinedEntries()).toEqual([]);
    expect(catalog.review?.all()).toEqual([]);
  });

  it('hands out the guard’s argument check for a served tool', () => {
    const catalog = new Catalog([github()], '__', guardOf(GITHUB_LOCK).guard);
    expect(catalog.argumentValidation).toBe('enforce');
    const check = catalog.argumentCheck(catalog.resolveTool('github__create_issue')!.contract!);
    expect(check?.({ title: 7 })).toEqual([{ path: '/title', message: 'must be string' }]);
    expect(catalog.argumentCheck(catalog.resolveTool('github__create_issue')!.contract!)).toBe(check);
  });
});

describe('quarantined templates', () => {
  it('match the URIs of their own upstream only', () => {
    const gh = upstream('github', { resourceTemplates: [repoTemplate()] });
    const mirror = upstream('mirror', { resourceTemplates: [repoTemplate()] }, OFF);
    const catalog = new Catalog([gh, mirror], '__', guardOf(emptyLock()).guard);
    expect(catalog.listResourceTemplates().map((t) => t.uriTemplate)).toEqual(['mirror+repo://{owner}/{name}']);
    expect(catalog.quarantinedTemplateFor(gh, 'repo://octo/hello')).toMatchObject({ upstream: gh, exposed: 'github+repo://{owner}/{name}' });
    expect(catalog.quarantinedTemplateFor(mirror, 'repo://octo/hello')).toBeUndefined();
    expect(catalog.quarantinedTemplateFor(gh, 'file:///etc/passwd')).toBeUndefined();
  });

  it('refuse a resource read through them as quarantined, on a prefixed or an unprefixed server', () => {
    const gh = upstream('github', { resourceTemplates: [repoTemplate()] });
    const fs = upstream('fs', { resourceTemplates: [{ uriTemplate: 'file:///{path}', name: 'file' }] }, ENFORCE, '');
    const catalog = new Catalog([gh, fs], '__', guardOf(emptyLock()).guard);
    for (const uri of ['github+repo://octo/hello', 'file:///etc']) {
      let caught: unknown;
      try {
        resolve(catalog, { method: 'resources/read', params: { uri } });
      } catch (err) {
        caught = err;
      }
      expect((caught as GatewayError).code, uri).toBe('TOOL_QUARANTINED');
      expect((caught as GatewayError).data).toMatchObject({ kind: 'resourceTemplate', reason: 'new' });
    }
  });

  it('do not catch a listed resource of the same server that no template describes', () => {
    const gh = upstream('github', { resourceTemplates: [repoTemplate()], resources: [{ uri: 'issues://open', name: 'open' }] });
    const catalog = new Catalog([gh], '__', guardOf(emptyLock()).guard);
    expect(catalog.quarantinedTemplateFor(gh, 'issues://open')).toBeUndefined();
    expect(resolve(catalog, { method: 'resources/read', params: { uri: 'github+issues://open' } })).toMatchObject({ upstream: gh, original: 'issues://open' });
  });
});

describe('QuarantineTable', () => {
  it('has no gate without a review, and nothing recorded', () => {
    const table = new QuarantineTable();
    expect(table.gate('tool')).toBeUndefined();
    expect(table.entries()).toEqual([]);
    expect(table.get('x')).toBeUndefined();
    expect(table.templateFor(upstream('a', {}), 'x://y')).toBeUndefined();
  });

  it('records a held entry once, by exposed name', () => {
    const gh = upstream('github', { tools: [listIssues()] });
    const { guard } = guardOf(emptyLock());
    const review = guard.review([{ server: 'github', pinning: ENFORCE, lists: gh.lists }]);
    const table = new QuarantineTable(review);
    const gate = table.gate('tool')!;
    const first = gate(gh, 'list_issues', 'github__list_issues');
    expect(typeof first).toBe('symbol');
    expect(gate(gh, 'list_issues', 'github__list_issues')).toBe(first);
    expect(table.entries()).toHaveLength(1);
    // An item the review did not judge passes unchecked; another kind is looked up apart.
    expect(gate(gh, 'other', 'github__other')).toBeUndefined();
    expect(table.gate('prompt')!(gh, 'list_issues', 'github__list_issues')).toBeUndefined();
  });
});
