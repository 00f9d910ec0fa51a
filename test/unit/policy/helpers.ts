/** Shared builders for the policy tests: a request with defaults, an engine from YAML text. */
import { expect } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../src/core/errors.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { parsePolicyText } from '../../../src/policy/load.js';
import type { DecisionInput, Principal } from '../../../src/policy/types.js';

export type InputOverrides = Partial<Omit<DecisionInput, 'principal'>> & { principal?: Partial<Principal> };

/** A tools/call of `echo` on server `srv` by the API key `p` (principal `apikey:p`) with no scopes or groups, unless overridden. */
export function input(over: InputOverrides = {}): DecisionInput {
  const { principal, ...rest } = over;
  return {
    method: 'tools/call',
    server: { name: 'srv', transport: 'stdio' },
    tool: { name: 'echo' },
    args: {},
    request: { time: new Date('2026-01-01T12:00:00Z'), transport: 'stdio', sessionId: 's1' },
    ...rest,
    principal: { id: 'apikey:p', kind: 'apikey', subject: 'p', scopes: [], groups: [], claims: {}, ...principal },
  };
}

export const engineOf = (yaml: string, defaultEffect: 'allow' | 'deny' = 'allow', trustedServers?: string[]) =>
  new PolicyEngine(parsePolicyText(yaml, 'test.yaml'), { defaultEffect, ...(trustedServers ? { trustedServers } : {}) });

/** Runs `fn`, expects a ConfigError, returns its issues after checking their common shape. */
export function issuesOf(fn: () => unknown): ConfigIssue[] {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.code).toBe('CONFIG_INVALID');
  for (const issue of err.issues) {
    expect(issue.file).not.toBe('');
    expect(issue.message).not.toBe('');
    expect(issue.fix).toBeTruthy();
  }
  return err.issues;
}

export function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const found = issues.find((i) => i.path === path);
  expect(found, `no issue at ${path}; got ${JSON.stringify(issues.map((i) => i.path))}`).toBeDefined();
  return found!;
}
