import { describe, expect, it } from 'vitest';
import { paginate } from '../../../src/catalog/paginate.js';
import { GatewayError } from '../../../src/core/errors.js';

describe('paginate', () => {
  const items = Array.from({ length: 7 }, (_, i) => i);

  it('walks every item exactly once with its own cursors', () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { page, nextCursor } = paginate(items, cursor, 3);
      seen.push(...page);
      cursor = nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(items);
    expect(pages).toBe(3);
  });

  it('returns no cursor when everything fits', () => {
    expect(paginate(items, undefined, 10)).toEqual({ page: items });
  });

  it.each(['garbage', 42, Buffer.from('{"o":-1}').toString('base64url'), Buffer.from('{"o":1.5}').toString('base64url')])(
    'rejects a cursor it did not issue (%s) with INVALID_CURSOR',
    (cursor) => {
      expect(() => paginate(items, cursor, 3)).toThrow(GatewayError);
      try {
        paginate(items, cursor, 3);
      } catch (err) {
        expect((err as GatewayError).code).toBe('INVALID_CURSOR');
        expect((err as GatewayError).jsonRpcCode).toBe(-32602);
      }
    },
  );
});
