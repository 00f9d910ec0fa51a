import { describe, expect, it } from 'vitest';
import { celContext, compileCel } from '../../../src/policy/cel.js';
import { engineOf, input } from './helpers.js';

/** Compiles `source` (must type-check) and evaluates it on a tools/call with these args. */
function run(source: string, args: Record<string, unknown> = {}, want: 'bool' | 'string' = 'bool'): unknown {
  const compiled = compileCel(source, want);
  if (!compiled.ok) throw new Error(`did not compile: ${compiled.error.message}`);
  return compiled.expr.evaluate(celContext(input({ args }), 'tools/call'));
}
const within = (path: unknown, root = '/srv/data') => run(`path.within(args.path, ${JSON.stringify(root)})`, { path });
const host = (url: unknown) => run('url.host(args.url)', { url }, 'string');

describe('path.within', () => {
  it.each([
    ['/srv/data', '/srv/data'],
    ['/srv/data/a.txt', '/srv/data'],
    ['/srv/data/', '/srv/data'],
    ['/srv/data/a.txt', '/srv/data/'],
    ['//srv///data//a/./b.txt', '/srv/data'],
    ['/srv/data/x/../y', '/srv/data'],
    ['/srv/other/../data/y', '/srv/data'],
    ['srv/data/rel.txt', '/srv/data'],
    ['/srv/data/a\\b.txt', '/srv/data'],
    ['/srv/data/%2e%2e/%2e%2e/etc/passwd', '/srv/data'],
    ['/anything', '/'],
  ])('%s is within %s', (p, root) => expect(within(p, root)).toBe(true));

  it.each([
    ['/srv/data/../etc/passwd', '/srv/data'],
    ['/srv/data/../../../../etc/passwd', '/srv/data'],
    ['/srv/database', '/srv/data'],
    ['/srv/data-backup/x', '/srv/data'],
    ['/srv', '/srv/data'],
    ['../../etc', '/srv/data'],
    ['a.txt', '/srv/data'],
    ['', '/srv/data'],
    ['/srv/data/..\\..\\etc\\passwd', '/srv/data'],
    ['/srv/data\\x', '/srv/data'],
    ['\\srv\\data\\x', '/srv/data'],
    ['/srv/data/a\0.txt', '/srv/data'],
    ['/srv/data/a.txt', '/srv/data\0'],
    ['/SRV/DATA/a.txt', '/srv/data'],
  ])('%j is not within %j', (p, root) => expect(within(p, root)).toBe(false));

  it.each([[42], [null], [true], [['/srv/data/a']], [{ p: '/srv/data/a' }]])('throws on a non-string path (%j)', (p) => {
    expect(() => within(p)).toThrow(/no matching overload|must be a string/);
  });

  it('throws on a missing argument and an empty root', () => {
    expect(() => run("path.within(args.path, '/srv/data')", {})).toThrow(/path/);
    expect(() => within('/srv/data/a', '')).toThrow(/root is empty/);
  });

  it('is type-checked at load time', () => {
    for (const source of ["path.within(1, '/x')", "path.within('/x')", "path.within('/x', ['/y'])", "path.inside('/x', '/y')"]) {
      const compiled = compileCel(source, 'bool');
      expect(compiled.ok, source).toBe(false);
      if (!compiled.ok) expect(compiled.error.kind, source).toBe('type');
    }
    const compiled = compileCel("path.normalize('/x')", 'bool');
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.error.kind).toBe('result-type');
  });

  it('leaves a comprehension variable named path alone', () => {
    expect(run("args.paths.all(path, path.startsWith('/srv/'))", { paths: ['/srv/a', '/srv/b'] })).toBe(true);
  });
});

describe('path.normalize', () => {
  it.each([
    ['/srv/data/../etc/passwd', '/srv/etc/passwd'],
    ['/srv/data/../../etc/passwd', '/etc/passwd'],
    ['../../etc', '/etc'],
    ['a/./b//c/', '/a/b/c'],
    ['', '/'],
    ['/..', '/'],
    ['\\srv\\data\\x', '/srv/data/x'],
    ['/srv/%2e%2e/x', '/srv/%2e%2e/x'],
  ])('%j → %j', (p, want) => expect(run('path.normalize(args.path)', { path: p }, 'string')).toBe(want));

  it('throws on a NUL byte and on a non-string', () => {
    expect(() => run('path.normalize(args.path)', { path: '/a\0b' }, 'string')).toThrow(/NUL/);
    expect(() => run('path.normalize(args.path)', { path: 7 }, 'string')).toThrow();
  });
});

describe('url.host', () => {
  it.each([
    ['https://api.example.com/v1', 'api.example.com'],
    ['HTTPS://API.Example.COM:8443/x?y#z', 'api.example.com'],
    ['wss://stream.example.com', 'stream.example.com'],
    ['http://api.example.com./', 'api.example.com'],
    ['https://%61pi.example.com/', 'api.example.com'],
    ['https://bücher.example/', 'xn--bcher-kva.example'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://[::1]:8080/', '[::1]'],
    // Userinfo is not the host: the request goes to evil.com.
    ['https://api.example.com@evil.com/', 'evil.com'],
    ['https://api.example.com%2f@evil.com/', 'evil.com'],
    ['https://evil.com\\@api.example.com/', 'evil.com'],
  ])('%s → %s', (url, want) => expect(host(url)).toBe(want));

  it('does not let userinfo pass an allowlist', () => {
    const allowed = (url: string) => run("url.host(args.url) in ['api.example.com']", { url });
    expect(allowed('https://api.example.com/x')).toBe(true);
    expect(allowed('https://api.example.com@evil.com/')).toBe(false);
    expect(allowed('https://api.example.com.evil.com/')).toBe(false);
  });

  it.each([['ftp://api.example.com/'], ['file:///etc/passwd'], ['javascript:alert(1)'], ['api.example.com'], ['//api.example.com/x'], ['http://a b/'], ['']])(
    'throws on %j',
    (url) => expect(() => host(url)).toThrow(/url\.host/),
  );

  it('throws on a non-string and is type-checked at load time', () => {
    expect(() => host(42)).toThrow();
    expect(() => host(['https://api.example.com/'])).toThrow();
    expect(compileCel('url.host(1) == "x"', 'bool').ok).toBe(false);
  });
});

describe('url.scheme', () => {
  it.each([
    ['HTTPS://x.example/', 'https'],
    ['wss://x.example/', 'wss'],
    ['file:///etc/passwd', 'file'],
    ['JavaScript:alert(1)', 'javascript'],
  ])('%s → %s', (url, want) => expect(run('url.scheme(args.url)', { url }, 'string')).toBe(want));

  it('throws on a relative URL and a non-string', () => {
    expect(() => run('url.scheme(args.url)', { url: '/relative' }, 'string')).toThrow(/url\.scheme/);
    expect(() => run('url.scheme(args.url)', { url: {} }, 'string')).toThrow();
  });
});

describe('through the engine', () => {
  const engine = engineOf(`rules: [ { id: data-only, match: { tools: [read_file] }, when: "!path.within(args.path, '/srv/data')", effect: deny } ]`);
  const call = (path: unknown) => engine.decide(input({ tool: { name: 'read_file' }, args: { path } }));

  it('allows a path inside the root', () => {
    expect(call('/srv/data/a.txt').allowed).toBe(true);
  });

  it('denies traversal out of the root', () => {
    expect(call('/srv/data/../etc/passwd')).toMatchObject({ allowed: false, ruleId: 'data-only' });
    expect(call('/srv/database/x')).toMatchObject({ allowed: false, ruleId: 'data-only' });
  });

  it('denies a non-string path (condition error: fail closed)', () => {
    const d = call(42);
    expect(d).toMatchObject({ allowed: false, ruleId: 'data-only', conditionError: expect.stringMatching(/path\.within/) });
  });

  it('rejects a mistyped helper call at load', () => {
    expect(() => engineOf(`rules: [ { id: r, when: "path.within(1, '/x')", effect: deny } ]`)).toThrow(/path\.within/);
  });
});
