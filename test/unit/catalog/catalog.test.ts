import { describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/client';
import { Catalog } from '../../../src/catalog/catalog.js';
import { hashFields } from '../../../src/contracts/contract.js';
import { ContractGuard } from '../../../src/contracts/guard.js';
import { emptyLock, withEntry } from '../../../src/contracts/lock.js';
import type { ServerConfig } from '../../../src/config/schema/index.js';
import { silentLogger } from '../../../src/observability/log.js';
import { Upstream, type UpstreamLists } from '../../../src/upstream/server.js';

function upstream(name: string, lists: Partial<UpstreamLists>, prefix = name, state: Upstream['state'] = 'ready'): Upstream {
  const config: ServerConfig = {
    name,
    spec: { type: 'stdio', command: 'true', args: [], env: {} },
    prefix,
    timeoutMs: 1000,
    enabled: true,
    isolation: 'shared',
    maxProcesses: 1,
    trustAnnotations: false,
    pinning: { mode: 'off', onNew: 'quarantine', onChanged: 'quarantine' },
    forwardMeta: [],
    identityHeaders: {},
    credentials: 'static',
  };
  const u = new Upstream(config, silentLogger);
  u.state = state;
  u.lists = { tools: [], resources: [], resourceTemplates: [], prompts: [], ...lists };
  return u;
}

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({ name, inputSchema: { type: 'object' }, ...extra });

describe('Catalog', () => {
  it('namespaces every kind and routes back to the original', () => {
    const gh = upstream('github', {
      tools: [tool('create_issue', { annotations: { readOnlyHint: false } })],
      prompts: [{ name: 'triage' }],
      resources: [{ uri: 'repo://a/b', name: 'ab' }],
      resourceTemplates: [{ uriTemplate: 'repo://{owner}/{name}', name: 'repo' }],
    });
    const catalog = new Catalog([gh], '__');
    expect(catalog.listTools().map((t) => t.name)).toEqual(['github__create_issue']);
    expect(catalog.listPrompts().map((p) => p.name)).toEqual(['github__triage']);
    expect(catalog.listResources().map((r) => r.uri)).toEqual(['github+repo://a/b']);
    expect(catalog.listResourceTemplates().map((t) => t.uriTemplate)).toEqual(['github+repo://{owner}/{name}']);
    expect(catalog.resolveTool('github__create_issue')).toMatchObject({ upstream: gh, original: 'create_issue' });
    expect(catalog.resolveResource('github+repo://x/y')).toMatchObject({ upstream: gh, original: 'repo://x/y' });
    expect(catalog.resolveTool('create_issue')).toBeUndefined();
  });

  it('keeps unknown fields of the items it renames', () => {
    const catalog = new Catalog([upstream('a', { tools: [tool('t', { title: 'T', _meta: { x: 1 } } as Partial<Tool>)] })], '__');
    expect(catalog.listTools()[0]).toMatchObject({ name: 'a__t', title: 'T', _meta: { x: 1 } });
  });

  it('resolves collisions deterministically, first in config order, and reports them', () => {
    const one = upstream('one', { tools: [tool('same')] }, '');
    const two = upstream('two', { tools: [tool('same'), tool('other')] }, '');
    const catalog = new Catalog([one, two], '__');
    expect(catalog.resolveTool('same')?.upstream).toBe(one);
    expect(catalog.resolveTool('other')?.upstream).toBe(two);
    expect(catalog.conflicts).toEqual([{ kind: 'tool', name: 'same', winner: 'one', hidden: ['two'], reason: 'collision' }]);
  });

  it('hides names the specification forbids, and says so', () => {
    const catalog = new Catalog([upstream('a', { tools: [tool('has space'), tool('ok')] })], '__');
    expect(catalog.listTools().map((t) => t.name)).toEqual(['a__ok']);
    expect(catalog.conflicts[0]).toMatchObject({ name: 'a__has space', reason: 'invalid-name' });
  });

  it('lists only ready upstreams, and rebuilds when one comes up', () => {
    const down = upstream('late', { tools: [tool('t')] }, 'late', 'down');
    const catalog = new Catalog([down], '__');
    expect(catalog.listTools()).toEqual([]);
    down.state = 'ready';
    const before = catalog.version;
    catalog.rebuild();
    expect(catalog.version).toBe(before + 1);
    expect(catalog.listTools().map((t) => t.name)).toEqual(['late__t']);
  });

  it('routes URIs of an unprefixed server by its templates', () => {
    const fs = upstream('fs', { resourceTemplates: [{ uriTemplate: 'file:///{path}', name: 'f' }] }, '');
    const other = upstream('other', { resourceTemplates: [{ uriTemplate: 'mem://{id}', name: 'm' }] }, '');
    const catalog = new Catalog([fs, other], '__');
    expect(catalog.resolveResource('mem://42')).toMatchObject({ upstream: other });
    expect(catalog.resolveResource('file:///etc')).toMatchObject({ upstream: fs });
    expect(catalog.resolveResource('nope://x')).toBeUndefined();
  });

  it('routes URIs in canonical form: prefix and scheme without regard to case, dot segments resolved', () => {
    const gh = upstream('github', {}, 'GitHub');
    const catalog = new Catalog([gh], '__');
    expect(catalog.resolveResource('github+REPO://X/a/./b/../c')).toEqual({ upstream: gh, original: 'repo://x/a/c', exposed: 'GitHub+repo://x/a/c' });
    expect(catalog.resolveResource('GITHUB+repo:a/../b')).toMatchObject({ invalid: expect.any(String) });
  });

  it('lists entries with read-only hints for the catalog command', () => {
    const catalog = new Catalog([upstream('a', { tools: [tool('r', { annotations: { readOnlyHint: true } })] })], '__');
    expect(catalog.entries()).toEqual([{ kind: 'tool', server: 'a', exposed: 'a__r', original: 'r', readOnly: true }]);
  });
});

describe('Catalog with the contract guard', () => {
  const enforce = { mode: 'enforce', onNew: 'quarantine', onChanged: 'quarantine' } as const;

  it('a quarantined entry keeps its name: the next server with that name stays hidden, calls are refused, not rerouted', () => {
    const a = upstream('a', { tools: [tool('x', { description: 'A' })] }, '');
    const b = upstream('b', { tools: [tool('x', { description: 'B' })] }, '');
    a.config.pinning = enforce;
    b.config.pinning = enforce;
    const approvedB = { name: 'x', description: 'B', inputSchema: { type: 'object' } };
    // Only b's x is approved; a's (first in config order) is not.
    const lock = withEntry(emptyLock(), 'b', 'tool', 'x', { hash: hashFields(approvedB), contract: approvedB });
    const catalog = new Catalog([a, b], '__', new ContractGuard({ scan: { mode: 'off', severity: 'high' }, validateArguments: 'off' }, lock, () => {}));
    expect(catalog.resolveTool('x')).toBeUndefined();
    expect(catalog.quarantined('x')?.upstream).toBe(a);
    expect(catalog.listTools()).toEqual([]);
    expect(catalog.conflicts).toEqual([{ kind: 'tool', name: 'x', winner: 'a', hidden: ['b'], reason: 'collision' }]);
  });
});
