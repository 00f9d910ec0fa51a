import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../../src/contracts/diff.js';
import { formatAdded, formatDiff, formatRemoved } from '../../../src/contracts/format-diff.js';

const ANSI = /\x1b\[\d+m/;

const approved = {
  name: 'create_issue',
  description: 'Create an issue in a repository.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  annotations: { readOnlyHint: false },
};

const live = {
  name: 'create_issue',
  description: 'Create a new issue in a repository.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' }, mode: { type: 'string' } } },
  annotations: { readOnlyHint: true },
};

function format(before: Record<string, unknown>, after: Record<string, unknown>, color = false): string {
  return formatDiff('github', 'create_issue', 'tool', diffContracts(before, after, 'tool'), { color });
}

describe('formatDiff', () => {
  it('prints a header, a word diff, schema and annotation lines', () => {
    expect(format(approved, live).split('\n')).toEqual([
      '~ github tool create_issue',
      '  description: Create [-an-]{+a new+} issue in a repository.',
      '  inputSchema: + property "mode" (widens)',
      '  inputSchema: - required "path" (widens)',
      '  annotations.readOnlyHint: false → true (widens)',
    ]);
  });

  it('marks no widening on changes that narrow', () => {
    const text = format(live, approved);
    expect(text).toContain('  inputSchema: - property "mode"\n');
    expect(text).toContain('  inputSchema: + required "path"\n');
    expect(text).toContain('  annotations.readOnlyHint: true → false');
    expect(text).not.toContain('(widens)');
  });

  it('describes keyword changes as before → after, with readable paths', () => {
    const nested = { ...approved, inputSchema: { type: 'object', properties: { opts: { type: 'object', properties: { depth: { type: 'integer' } } } } } };
    const widened = { ...approved, inputSchema: { type: 'object', properties: { opts: { type: 'object', properties: { depth: { type: 'number' } } } } } };
    expect(format(nested, widened)).toContain('  inputSchema: type of "opts.depth": "integer" → "number" (widens)');
  });

  it('says so when the schemas differ only in order', () => {
    const reordered = { ...approved, inputSchema: { ...approved.inputSchema, type: ['object'] } };
    expect(format(approved, reordered)).toContain('  inputSchema: changed (no structural difference)');
  });

  it('prints a field added or removed whole, and an inputSchema removed as widening', () => {
    const { inputSchema: _dropped, ...withoutSchema } = approved;
    expect(format(approved, withoutSchema)).toContain('  inputSchema: removed (widens)');
    expect(format(approved, { ...approved, title: 'Create issue' })).toContain('  title: {+Create issue+}');
  });

  it('calls a prompt’s properties arguments', () => {
    const before = { name: 'review', arguments: [{ name: 'code', required: true }] };
    const after = { name: 'review', arguments: [{ name: 'code' }, { name: 'lang' }] };
    const text = formatDiff('srv', 'review', 'prompt', diffContracts(before, after, 'prompt'));
    expect(text.split('\n')).toEqual(['~ srv prompt review', '  arguments: + argument "lang" (widens)', '  arguments: - required "code" (widens)']);
  });

  it('keeps continuation lines of a multi-line description indented', () => {
    const text = format({ ...approved, description: 'One.\nTwo here.' }, { ...approved, description: 'One.\nTwo there.' });
    expect(text).toContain('  description: One.\n    Two [-here-]{+there+}.');
  });

  it('prints only the header for equal contracts', () => {
    expect(format(approved, approved)).toBe('~ github tool create_issue');
  });

  it('uses no ANSI codes without color', () => {
    expect(format(approved, live)).not.toMatch(ANSI);
  });

  it('colours removed text red, added text green and widening yellow, keeping the markers', () => {
    const text = format(approved, live, true);
    expect(text).toContain('\x1b[31m[-an-]\x1b[0m');
    expect(text).toContain('\x1b[32m{+a new+}\x1b[0m');
    expect(text).toContain('\x1b[33m(widens)\x1b[0m');
  });
});

describe('formatAdded / formatRemoved', () => {
  it('prints an entry on one side only', () => {
    expect(formatAdded('github', 'create_issue', 'tool')).toBe('+ github tool create_issue (new, not in the lock)');
    expect(formatRemoved('github', 'triage', 'prompt')).toBe('- github prompt triage (in the lock, no longer served)');
  });

  it('colours them green and red when asked', () => {
    expect(formatAdded('github', 'x', 'tool', { color: true })).toBe('\x1b[32m+ github tool x\x1b[0m (new, not in the lock)');
    expect(formatRemoved('github', 'y', 'tool', { color: true })).toBe('\x1b[31m- github tool y\x1b[0m (in the lock, no longer served)');
    expect(formatAdded('github', 'x', 'tool')).not.toMatch(ANSI);
  });
});
