import { describe, expect, it } from 'vitest';
import { exposeName, exposeUri, isValidToolName, splitUri } from '../../../src/catalog/names.js';

describe('names', () => {
  it.each([
    ['github', 'create_issue', '__', 'github__create_issue'],
    ['gh', 'x', '.', 'gh.x'],
    ['', 'create_issue', '__', 'create_issue'],
  ])('exposes %s + %s with %s as %s', (prefix, name, sep, exposed) => {
    expect(exposeName(prefix, name, sep)).toBe(exposed);
  });

  it('prefixes URIs and templates with <prefix>+, or not at all for an empty prefix', () => {
    expect(exposeUri('files', 'file:///tmp/a.txt')).toBe('files+file:///tmp/a.txt');
    expect(exposeUri('', 'file:///tmp/a.txt')).toBe('file:///tmp/a.txt');
    expect(exposeUri('ks', 'fixture://items/{id}')).toBe('ks+fixture://items/{id}');
  });

  it('splits only on a known prefix, so URIs with their own + survive', () => {
    const known = new Set(['files', 'git']);
    expect(splitUri('files+file:///a', known)).toEqual({ prefix: 'files', uri: 'file:///a' });
    expect(splitUri('git+https://example.com/repo', new Set(['files']))).toBeUndefined();
    expect(splitUri('git+git+https://x', known)).toEqual({ prefix: 'git', uri: 'git+https://x' });
    expect(splitUri('+file:///a', known)).toBeUndefined();
    expect(splitUri('file:///a', known)).toBeUndefined();
  });

  it('checks tool names against the specification', () => {
    expect(isValidToolName('a')).toBe(true);
    expect(isValidToolName('server__tool.v2-beta')).toBe(true);
    expect(isValidToolName('')).toBe(false);
    expect(isValidToolName('has space')).toBe(false);
    expect(isValidToolName('x'.repeat(128))).toBe(true);
    expect(isValidToolName('x'.repeat(129))).toBe(false);
  });
});
