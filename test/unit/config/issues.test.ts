import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../src/config/issues.js';

describe('formatPath', () => {
  it('uses dots, indexes and brackets for unusual keys', () => {
    const github = ['mcpServers', 'github', 'headers', 'Authorization'];
    expect(formatPath(github)).toBe('mcpServers.github.headers.Authorization');
    expect(formatPath(['mcpServers', 'weird.key', 'args', 0])).toBe('mcpServers["weird.key"].args[0]');
    expect(formatPath(['a b'])).toBe('["a b"]');
    expect(formatPath([])).toBe('');
  });
});
