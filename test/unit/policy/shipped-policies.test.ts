/**
 * The policies shipped in policies/ (for the quick-start servers): every
 * *.tests.yaml beside them passes, and the quick start keeps working for a
 * caller with no scopes and no groups.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, stdioPrincipal } from '../../../src/core/principal.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { loadPolicyDir } from '../../../src/policy/load.js';
import { loadPolicyTests, runPolicyTests } from '../../../src/policy/tests-runner.js';
import { input } from './helpers.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../policies');
const engine = new PolicyEngine(loadPolicyDir(dir), { defaultEffect: 'allow' });
const suites = loadPolicyTests(dir);

describe('policies/*.tests.yaml', () => {
  it('there is a tests file for every policy file', () => {
    const policies = loadPolicyDir(dir).files.map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
    expect(suites.map((s) => path.basename(s.file).replace(/\.tests\.ya?ml$/, ''))).toEqual(policies);
  });

  const results = runPolicyTests(engine, suites);
  it.each(results.map((r) => [`${path.basename(r.file)}: ${r.name}`, r] as const))('%s', (_name, result) => {
    expect(result.diff).toEqual([]);
    expect(result.passed).toBe(true);
  });
});

describe('the quick start keeps working for a caller without scopes or groups', () => {
  const READ = { readOnlyHint: true };
  const reads: [server: string, tool: string, annotations?: Record<string, unknown>][] = [
    ['everything', 'echo'],
    ['everything', 'get-sum'],
    ['memory', 'read_graph'],
    ['memory', 'search_nodes'],
    ['memory', 'open_nodes'],
    ['filesystem', 'read_text_file', READ],
    ['filesystem', 'list_directory', READ],
    ['filesystem', 'list_allowed_directories', READ],
  ];
  // The quick start's callers: the --stdio front's default principal, and HTTP without credentials.
  const callers = [stdioPrincipal({ id: 'local' }), ANONYMOUS];

  for (const principal of callers) {
    it.each(reads)(`${principal.id}: %s %s is listed and callable`, (server, name, annotations) => {
      const tool = annotations ? { name, annotations } : { name };
      const base = { principal, server: { name: server, transport: 'stdio' as const }, tool };
      expect(engine.decide(input({ ...base, method: 'tools/list', args: undefined })).allowed).toBe(true);
      expect(engine.decide(input({ ...base, args: {} })).allowed).toBe(true);
    });
  }
});
