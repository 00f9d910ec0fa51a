/** Which lists every caller sees alike (cacheScope public): nothing that tells callers apart applies to them. */
import { describe, expect, it } from 'vitest';
import { engineOf } from './helpers.js';

describe('PolicyEngine.listsAlike', () => {
  it('no rules: alike for every list and server', () => {
    const engine = engineOf('rules: []');
    expect(engine.listsAlike('tools/list', ['a', 'b'])).toBe(true);
    expect(engine.listsAlike('resources/list', [])).toBe(true);
  });

  it('a rule that applies to a server’s tools makes its tool list differ, not its resources nor other servers', () => {
    const engine = engineOf('rules:\n  - id: r\n    match: { servers: [a], tools: [x] }\n    when: "\'g\' in principal.groups"\n    effect: deny\n');
    expect(engine.listsAlike('tools/list', ['a'])).toBe(false);
    expect(engine.listsAlike('tools/list', ['b'])).toBe(true);
    expect(engine.listsAlike('tools/list', ['a', 'b'])).toBe(false);
    expect(engine.listsAlike('resources/list', ['a'])).toBe(true);
  });

  it('a server-wide rule, an allowlist server, a read-only server or a read-only group tells callers apart', () => {
    expect(engineOf('rules:\n  - { id: r, match: { servers: [a] }, effect: allow }\n').listsAlike('prompts/list', ['a'])).toBe(false);
    expect(engineOf('servers:\n  a: { mode: allowlist }\n').listsAlike('tools/list', ['a'])).toBe(false);
    expect(engineOf('servers:\n  a: { readOnly: true }\n').listsAlike('tools/list', ['a'])).toBe(false);
    const group = engineOf('groups:\n  guests: { readOnly: true }\n');
    expect(group.listsAlike('tools/list', ['a'])).toBe(false);
    expect(group.listsAlike('resources/list', ['a'])).toBe(true);
    // Asked again: the same answer (kept per list method and servers).
    expect(group.listsAlike('tools/list', ['a'])).toBe(false);
  });
});
