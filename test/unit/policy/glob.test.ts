import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../../src/policy/glob.js';

describe('compileGlobs', () => {
  it.each([
    [['create_*'], 'create_entities', true],
    [['create_*'], 'create_', true],
    [['create_*'], 'xcreate_a', false],
    [['*_file'], 'read_text_file', true],
    [['v?'], 'v1', true],
    [['v?'], 'v', false],
    [['v?'], 'v10', false],
    [['a.b'], 'a.b', true],
    [['a.b'], 'acb', false],
    [['(x)|[y]+{z}^$\\/'], '(x)|[y]+{z}^$\\/', true],
    [['demo://resource/*'], 'demo://resource/static/document/a.md', true],
    [['*'], '', true],
    [['é?'], 'éü', true],
    [['read_graph', 'search_*'], 'search_nodes', true],
    [['read_graph', 'search_*'], 'open_nodes', false],
    [['multi*'], 'multi\nline', true],
  ] as const)('%j matches %j: %s', (globs, value, expected) => {
    expect(compileGlobs(globs).test(value)).toBe(expected);
  });

  it('keeps the globs it was made from', () => {
    expect(compileGlobs(['a', 'b*']).globs).toEqual(['a', 'b*']);
  });
});
