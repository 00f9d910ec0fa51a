/**
 * What an endpoint shows: the whole catalog, or a profile's servers narrowed
 * by globs over exposed names.
 */
import { describe, expect, it } from 'vitest';
import type { ProfileSettings } from '../../../src/config/schema/index.js';
import { createView, WHOLE_CATALOG } from '../../../src/pipeline/view.js';
import { fleet } from './helpers.js';

const { github, fs, catalog } = fleet();
const profile = (over: Partial<ProfileSettings>): ProfileSettings => ({
  name: 'sales',
  path: '/mcp/sales',
  enabled: true,
  disclosure: 'full',
  pinned: [],
  ...over,
});
const entry = (u: typeof github, original = 'x') => ({ upstream: u, original, item: {} });

describe('createView', () => {
  it('without a profile is the whole catalog: everything shown, every server included', () => {
    const view = createView(undefined);
    expect(view).toBe(WHOLE_CATALOG);
    expect(view.profile).toBeUndefined();
    expect(view.disclosure).toBe('full');
    expect(view.hasServer('anything')).toBe(true);
    expect(view.shows('tools', entry(github), 'whatever')).toBe(true);
  });

  it('a profile without servers or globs shows everything, under its own name and settings', () => {
    const view = createView(profile({ disclosure: 'search', pinned: ['github__list_issues'] }));
    expect(view.profile).toBe('sales');
    expect(view.disclosure).toBe('search');
    expect([...view.pinned]).toEqual(['github__list_issues']);
    for (const r of catalog.routedTools()) expect(view.shows('tools', r, r.item.name)).toBe(true);
    expect(view.hasServer('fs')).toBe(true);
  });

  it('servers: shows only entries of the listed servers', () => {
    const view = createView(profile({ servers: ['github'] }));
    const shown = catalog
      .routedTools()
      .filter((r) => view.shows('tools', r, r.item.name))
      .map((r) => r.item.name);
    expect(shown).toEqual(['github__create_issue', 'github__list_issues']);
    expect(view.hasServer('github')).toBe(true);
    expect(view.hasServer('fs')).toBe(false);
    expect(view.hasServer('GitHub')).toBe(false);
  });

  it('tool globs match exposed names (not originals), anchored', () => {
    const view = createView(profile({ tools: ['github__list_*', 'read_file'] }));
    expect(view.shows('tools', entry(github, 'list_issues'), 'github__list_issues')).toBe(true);
    expect(view.shows('tools', entry(fs, 'read_file'), 'read_file')).toBe(true);
    expect(view.shows('tools', entry(github, 'list_issues'), 'list_issues')).toBe(false);
    expect(view.shows('tools', entry(github, 'create_issue'), 'github__create_issue')).toBe(false);
    expect(view.shows('tools', entry(github), 'xgithub__list_issues')).toBe(false);
    expect(view.shows('tools', entry(github), 'GITHUB__list_issues')).toBe(false);
  });

  it('each kind has its own globs; a kind without globs is not narrowed', () => {
    const view = createView(profile({ tools: ['none'], prompts: ['github__triage'] }));
    expect(view.shows('tools', entry(github), 'github__create_issue')).toBe(false);
    expect(view.shows('prompts', entry(github), 'github__triage')).toBe(true);
    expect(view.shows('prompts', entry(github), 'github__other')).toBe(false);
    expect(view.shows('resources', entry(github), 'github+repo://a/b')).toBe(true);
  });

  it('resource globs narrow resources and resource templates alike', () => {
    const view = createView(profile({ resources: ['github+repo://octo/*'] }));
    expect(view.shows('resources', entry(github), 'github+repo://octo/hello')).toBe(true);
    expect(view.shows('resourceTemplates', entry(github), 'github+repo://octo/{name}')).toBe(true);
    expect(view.shows('resources', entry(github), 'github+repo://other/hello')).toBe(false);
    expect(view.shows('resourceTemplates', entry(github), 'github+repo://{owner}/{name}')).toBe(false);
  });

  it('servers and globs both have to agree', () => {
    const view = createView(profile({ servers: ['fs'], tools: ['*'] }));
    expect(view.shows('tools', entry(fs), 'read_file')).toBe(true);
    expect(view.shows('tools', entry(github), 'github__create_issue')).toBe(false);
  });

  it('? is one character', () => {
    const view = createView(profile({ tools: ['github__list_issue?'] }));
    expect(view.shows('tools', entry(github), 'github__list_issues')).toBe(true);
    expect(view.shows('tools', entry(github), 'github__list_issue')).toBe(false);
  });
});
