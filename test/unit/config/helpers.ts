/** Shared by the config tests: fixtures, and checks of the issues a ConfigError carries. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../src/core/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import type { LoadedConfig } from '../../../src/config/schema/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/configs');
export const fixture = (name: string) => path.join(fixtures, name);
export const ENV = { FILES_TOKEN: 'files-secret', GITHUB_TOKEN: 'gh-secret' };

/** Runs `fn`, expects a ConfigError, returns its issues after checking their common shape. */
export function issuesOf(fn: () => unknown, file?: string): ConfigIssue[] {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.code).toBe('CONFIG_INVALID');
  expect(err.issues.length).toBeGreaterThan(0);
  for (const issue of err.issues) {
    if (file !== undefined) expect(issue.file).toBe(file);
    expect(issue.message).not.toBe('');
    expect(issue.fix).toBeTruthy();
  }
  return err.issues;
}
export const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path);
export const issueAt = (issues: ConfigIssue[], p: string) => {
  const found = issues.find((i) => i.path === p);
  expect(found, `no issue at ${p}; got ${JSON.stringify(paths(issues))}`).toBeDefined();
  return found!;
};
export const parse = (raw: unknown, env: Record<string, string | undefined> = {}) => parseConfig(raw, '<inline>', env);
export const server = (cfg: LoadedConfig, name: string) => cfg.servers.find((s) => s.name === name)!;
/** Paths of the issues parsing `raw` inline reports. */
export const pathsOf = (raw: unknown) => paths(issuesOf(() => parse(raw), '<inline>'));
