import { describe, expect, it } from 'vitest';
import type { Contract } from '../../../../src/contracts/contract.js';
import { findingsOf, ORDINARY, prompt, tool } from './helpers.js';

const only = (contracts: readonly Contract[]) => findingsOf('length-outlier', contracts);
/** Three short sibling tools on server `srv` (descriptions of 40 characters). */
const siblings = ['a', 'b', 'c'].map((name) => tool('srv', `tool_${name}`, { description: 'x'.repeat(40) }));

describe('length-outlier', () => {
  it('flags a description over 1,000 characters and 4× the median of 3+ siblings as low', () => {
    const long = tool('srv', 'long_one', { description: 'Does a thing. '.repeat(100) });
    const found = only([...siblings, long]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ detector: 'length-outlier', severity: 'low', name: 'long_one', field: 'description', span: { start: 0, end: 1400 } });
    expect(found[0]?.span.text).toHaveLength(120);
    expect(found[0]?.span.text.startsWith('Does a thing. Does')).toBe(true);
    expect(found[0]?.message).toContain('1400 characters');
  });

  it('flags a description over 4,000 characters as medium, even without siblings', () => {
    const huge = prompt('srv', 'huge', { description: 'y'.repeat(4001) });
    const found = only([huge]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'medium', kind: 'prompt', field: 'description', span: { start: 0, end: 4001 } });
  });

  it('measures the full length, past the 64 KiB scan cap', () => {
    const [finding] = only([tool('srv', 'vast', { description: 'z'.repeat(100_000) })]);
    expect(finding?.span.end).toBe(100_000);
  });

  it.each([
    [
      'long but not 4× the median',
      [...siblings.map((t) => ({ ...t, fields: { description: 'x'.repeat(400) } })), tool('srv', 'd', { description: 'x'.repeat(1_500) })],
    ],
    ['4× the median but under 1,000 characters', [...siblings, tool('srv', 'd', { description: 'x'.repeat(900) })]],
    ['an outlier with only two siblings', [...siblings.slice(1), tool('srv', 'd', { description: 'x'.repeat(2_000) })]],
    ['siblings of another kind or server', [...siblings.map((t) => ({ ...t, server: 'other' })), prompt('srv', 'd', { description: 'x'.repeat(2_000) })]],
  ])('does not flag %s', (_, contracts) => {
    expect(only(contracts)).toEqual([]);
  });

  it('finds nothing in ordinary servers', () => {
    expect(only(ORDINARY)).toEqual([]);
  });
});
