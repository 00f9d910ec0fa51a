/**
 * The gateway's own list pagination over the merged catalog. Cursors are
 * opaque to clients; a cursor that does not decode is the spec's -32602.
 */
import { invalidCursor } from '../core/errors.js';

export const PAGE_SIZE = 500;

export function paginate<T>(items: readonly T[], cursor: unknown, pageSize = PAGE_SIZE): { page: T[]; nextCursor?: string } {
  const offset = cursor === undefined ? 0 : decodeCursor(cursor);
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < items.length ? { page, nextCursor: encodeCursor(next) } : { page };
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: unknown): number {
  if (typeof cursor !== 'string') throw invalidCursor();
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    /* fall through */
  }
  throw invalidCursor();
}
