import { describe, expect, it } from 'vitest';
import { engineOf, input } from './helpers.js';

const RO = { readOnlyHint: true };
const fs = { name: 'fs', transport: 'stdio' } as const;
const git = { name: 'git', transport: 'stdio' } as const;
const docs = { name: 'docs', transport: 'http' } as const;

const policy = `
servers:
  fs: { readOnly: true, trustAnnotations: true, readOnlyTools: [stat] }
  git: { readOnly: true, readOnlyTools: ["log", "show_*"] }
  docs: { trustAnnotations: true }
groups:
  contractors: { readOnly: true }
  auditors: { readOnly: true, servers: [docs] }
`;
const engine = engineOf(policy);
const decide = (over: Parameters<typeof input>[0]) => engine.decide(input(over));

describe('read-only servers', () => {
  it.each([
    ['a tool the policy declares read-only', { server: git, tool: { name: 'show_commit' } }, true],
    ['a tool annotated read-only by an untrusted server', { server: git, tool: { name: 'push', annotations: RO } }, false],
    ['a tool annotated read-only by a trusted server', { server: fs, tool: { name: 'read_file', annotations: RO } }, true],
    ['a tool declared read-only on a trusted server, without annotations', { server: fs, tool: { name: 'stat' } }, true],
    ['a trusted server, readOnlyHint false', { server: fs, tool: { name: 'write_file', annotations: { readOnlyHint: false } } }, false],
    ['a trusted server, no annotations', { server: fs, tool: { name: 'write_file' } }, false],
    ['a truthy but non-boolean hint does not count', { server: fs, tool: { name: 'write_file', annotations: { readOnlyHint: 'yes' } } }, false],
  ] as const)('%s → allowed %s', (_name, over, allowed) => {
    expect(decide(over).allowed).toBe(allowed);
  });

  it('says why it refuses, with the setting as rule id', () => {
    const d = decide({ server: git, tool: { name: 'push' } });
    expect(d).toMatchObject({ allowed: false, code: 'POLICY_DENIED', ruleId: 'servers.git.readOnly' });
    expect(d.reason).toMatch(/read-only/);
    expect(d.reason).toContain('push');
  });

  it.each([
    ['resources/read', { resource: { uri: 'file:///a' } }],
    ['resources/subscribe', { resource: { uri: 'file:///a' } }],
    ['prompts/get', { prompt: { name: 'summarize' } }],
    ['completion/complete', { prompt: { name: 'summarize' } }],
  ] as const)('%s is a read', (method, target) => {
    expect(decide({ server: git, method, tool: undefined, ...target }).allowed).toBe(true);
  });

  it('hides tools that may not be called from lists, and shows the read ones', () => {
    const list = (name: string, annotations?: Record<string, unknown>) =>
      engine.decide(input({ server: fs, method: 'tools/list', tool: { name, ...(annotations ? { annotations } : {}) }, args: undefined })).allowed;
    expect(list('write_file')).toBe(false);
    expect(list('read_file', RO)).toBe(true);
  });

  it('trusts annotations of servers the gateway configuration trusts', () => {
    const trusting = engineOf(policy, 'allow', ['git']);
    expect(trusting.decide(input({ server: git, tool: { name: 'status', annotations: RO } })).allowed).toBe(true);
  });
});

describe('read-only groups', () => {
  it('a read-only group may call only read-only tools, on every server', () => {
    const contractor = { groups: ['contractors'] };
    expect(decide({ server: docs, tool: { name: 'edit' }, principal: contractor })).toMatchObject({ allowed: false, ruleId: 'groups.contractors.readOnly' });
    expect(decide({ server: docs, tool: { name: 'search', annotations: RO }, principal: contractor }).allowed).toBe(true);
    expect(decide({ server: { name: 'elsewhere', transport: 'http' }, tool: { name: 'anything' }, principal: contractor }).allowed).toBe(false);
  });

  it('a group read-only on some servers only', () => {
    const auditor = { groups: ['auditors'] };
    expect(decide({ server: docs, tool: { name: 'edit' }, principal: auditor }).ruleId).toBe('groups.auditors.readOnly');
    expect(decide({ server: { name: 'elsewhere', transport: 'http' }, tool: { name: 'edit' }, principal: auditor }).allowed).toBe(true);
  });

  it('callers outside the group are not affected', () => {
    expect(decide({ server: docs, tool: { name: 'edit' } }).allowed).toBe(true);
  });

  it('an explicit allow does not lift read-only (it is a deny)', () => {
    const e = engineOf(`
rules: [ { id: allow-all, match: { servers: ["*"] }, effect: allow } ]
groups: { contractors: { readOnly: true } }
`);
    expect(e.decide(input({ principal: { groups: ['contractors'] } })).ruleId).toBe('groups.contractors.readOnly');
  });
});
