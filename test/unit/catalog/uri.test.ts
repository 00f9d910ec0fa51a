import { describe, expect, it } from 'vitest';
import { canonicalUri, hasDotSegment } from '../../../src/catalog/uri.js';

const canon = (uri: string) => {
  const r = canonicalUri(uri);
  return r.ok ? r.uri : `refused: ${r.reason}`;
};

describe('canonicalUri', () => {
  it.each([
    ['demo://resource/static/document/./architecture.md', 'demo://resource/static/document/architecture.md'],
    ['demo://resource/static/x/../document/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['demo://resource/static/%2e%2e/static/document/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['demo://resource/static/%2E/document/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['DEMO://Resource/static/%64ocument/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['file:///public\\..\\secret', 'file:///secret'],
    ['file:///a%7euser/x', 'file:///a~user/x'],
    ['demo://resource/a%2Fb', 'demo://resource/a%2Fb'],
    ['demo://resource/static/document/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['demo://h/x?q=/../y', 'demo://h/x?q=/../y'],
  ])('%s → %s', (input, expected) => {
    expect(canon(input)).toBe(expected);
  });

  it.each(['urn:a/../b', 'urn:a/%2e%2e/b', 'urn:./x', 'noscheme', '', '://x', 'demo://[bad'])('refuses %s', (input) => {
    expect(canonicalUri(input).ok).toBe(false);
  });

  it('is idempotent', () => {
    for (const input of ['DEMO://H/a/./b/../c%41', 'file:///x\\y', 'demo://resource/a%2Fb?x=%7E']) {
      const once = canon(input);
      expect(canon(once)).toBe(once);
    }
  });
});

describe('hasDotSegment', () => {
  it.each([
    ['a/../b', true],
    ['../b', true],
    ['a/..', true],
    ['a/./b', true],
    ['a/...b', false],
    ['a..b/c', false],
  ])('%s → %s', (value, expected) => {
    expect(hasDotSegment(value)).toBe(expected);
  });
});
