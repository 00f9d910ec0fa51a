import { afterEach, describe, expect, it, vi } from 'vitest';
import { SubjectTokens } from '../../../src/auth/subject-tokens.js';

afterEach(() => vi.useRealTimers());

describe('SubjectTokens', () => {
  it('belongs to one gateway: another store never sees its tokens', () => {
    const a = new SubjectTokens();
    const b = new SubjectTokens();
    a.hold('jwt:https://idp#alice', 'token-a', Math.floor(Date.now() / 1000) + 60);
    expect(a.of('jwt:https://idp#alice')).toBe('token-a');
    expect(b.of('jwt:https://idp#alice')).toBeUndefined();
  });

  it('forgets a token once it expires', () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T00:00:00Z') });
    const store = new SubjectTokens();
    store.hold('jwt:https://idp#bob', 'token-b', Math.floor(Date.now() / 1000) + 30);
    vi.advanceTimersByTime(29_000);
    expect(store.of('jwt:https://idp#bob')).toBe('token-b');
    vi.advanceTimersByTime(2_000);
    expect(store.of('jwt:https://idp#bob')).toBeUndefined();
  });
});
