import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import type { StdioServerSpec } from '../../../src/config/schema/index.js';
import { issuesOf, parse, paths, pathsOf, server } from './helpers.js';

describe('parseConfig: servers', () => {
  it('skips a server whose url is empty after substitution, with a warning', () => {
    const cfg = parse({ mcpServers: { later: { type: 'http', url: '${LATER_URL:-}' }, now: { command: 'x' } } });
    expect(cfg.servers.map((s) => s.name)).toEqual(['now']);
    expect(cfg.skipped).toEqual([{ name: 'later', reason: expect.any(String) }]);
    expect(cfg.warnings).toEqual([expect.stringContaining('"later"')]);
  });

  it('keeps disabled servers, in file order', () => {
    const cfg = parse({
      mcpServers: { b: { command: 'x' }, a: { command: 'y' } },
      gateway: { servers: { b: { enabled: false } } },
    });
    expect(cfg.servers.map((s) => [s.name, s.enabled])).toEqual([
      ['b', false],
      ['a', true],
    ]);
  });

  it('resolves cwd against the config file, leaves command and args as written', () => {
    const file = path.join(tmpdir(), 'proj', 'switchboard.json');
    const cfg = parseConfig({ mcpServers: { a: { command: 'node', args: ['./s.js'], cwd: '../srv' } } }, file, {});
    expect(cfg.file).toBe(file);
    const spec = { type: 'stdio', command: 'node', args: ['./s.js'], env: {}, cwd: path.join(tmpdir(), 'srv') };
    expect(server(cfg, 'a').spec).toEqual(spec);
    expect(cfg.gateway.policies).toBe(path.join(tmpdir(), 'proj', 'policies'));
  });

  it('keeps pseudo file names and resolves their paths against the working directory', () => {
    const cfg = parseConfig({ mcpServers: { b: { command: 'x', cwd: 'sub' } } }, '<bridge>', {});
    expect(cfg.file).toBe('<bridge>');
    expect((server(cfg, 'b').spec as StdioServerSpec).cwd).toBe(path.resolve('sub'));
    expect(issuesOf(() => parseConfig({}, '<bridge>', {}), '<bridge>')).toHaveLength(1);
  });

  it('tolerates unknown keys in server entries', () => {
    const cfg = parse({
      mcpServers: { a: { command: 'x', disabled: true, autoApprove: [] }, b: { url: 'https://x', note: 1 } },
    });
    expect(cfg.servers).toHaveLength(2);
    expect(server(cfg, 'a').spec).toEqual({ type: 'stdio', command: 'x', args: [], env: {} });
  });

  it('needs either command or url', () => {
    const issues = issuesOf(() => parse({ mcpServers: { a: { args: ['x'] } } }));
    expect(paths(issues)).toEqual(['mcpServers.a']);
    expect(issues[0]?.message).toMatch(/"command".*"url"/);
  });

  it('reports the field of a typed entry that is wrong', () => {
    expect(pathsOf({ mcpServers: { a: { type: 'sse' } } })).toEqual(['mcpServers.a.url']);
    expect(pathsOf({ mcpServers: { a: { type: 'stdio', url: 'x' } } })).toEqual(['mcpServers.a.command']);
    expect(pathsOf({ mcpServers: { a: { command: 'x', args: 'y' } } })).toEqual(['mcpServers.a.args']);
    expect(pathsOf({ mcpServers: { a: { command: '' } } })).toEqual(['mcpServers.a.command']);
    expect(pathsOf({ mcpServers: { a: 'node x' } })).toEqual(['mcpServers.a']);
    expect(pathsOf({ mcpServers: { a: { url: 'x', headers: { A: 1 } } } })).toEqual(['mcpServers.a.headers.A']);
  });

  it('rejects an untyped entry with both command and url', () => {
    expect(pathsOf({ mcpServers: { a: { command: 'x', url: 'https://x' } } })).toEqual(['mcpServers.a']);
  });

  it('needs both oauth fields', () => {
    const oauth = (o: object) => ({ mcpServers: { s: { type: 'http', url: 'https://x', oauth: o } } });
    expect(pathsOf(oauth({ clientId: 'c' }))).toEqual(['mcpServers.s.oauth.callbackPort']);
    expect(pathsOf(oauth({ clientId: 'c', callbackPort: 'x' }))).toEqual(['mcpServers.s.oauth.callbackPort']);
    const noClient = issuesOf(() => parse({ mcpServers: { s: { url: 'https://x', oauth: { callbackPort: 3000 } } } }));
    expect(paths(noClient)).toEqual(['mcpServers.s.oauth.clientId']);
  });

  it('rejects server names that are not allowed, suggesting one', () => {
    const issues = issuesOf(() => parse({ mcpServers: { 'weird.key': { command: 'x' }, '-x': { command: 'y' } } }));
    expect(paths(issues)).toEqual(['mcpServers["weird.key"]', 'mcpServers.-x']);
    expect(issues[0]?.fix).toContain('weird-key');
  });

  it('rejects a server name containing the separator, or ending in part of it', () => {
    expect(pathsOf({ mcpServers: { my__server: { command: 'x' } } })).toEqual(['mcpServers.my__server']);
    expect(pathsOf({ mcpServers: { trailing_: { command: 'x' } } })).toEqual(['mcpServers.trailing_']);
    const custom = { mcpServers: { 'my-server': { command: 'x' } }, gateway: { separator: '-' } };
    expect(pathsOf(custom)).toEqual(['mcpServers.my-server']);
    const dotted = { mcpServers: { my__server: { command: 'x' } }, gateway: { separator: '.' } };
    expect(parse(dotted).servers).toHaveLength(1);
    expect(parse({ mcpServers: { my_server: { command: 'x' } } }).servers).toHaveLength(1);
  });

  it('checks prefixes: allowed form, separator, duplicates (but several "" are fine)', () => {
    const base = { a: { command: 'x' }, b: { command: 'y' }, c: { command: 'z' } };
    const ok = parse({
      mcpServers: base,
      gateway: { servers: { a: { prefix: '' }, b: { prefix: '' }, c: { prefix: 'cc' } } },
    });
    expect(ok.servers.map((s) => s.prefix)).toEqual(['', '', 'cc']);

    const dup = issuesOf(() => parse({ mcpServers: base, gateway: { servers: { b: { prefix: 'a' } } } }));
    expect(paths(dup)).toEqual(['gateway.servers.b.prefix']);
    const dupName = issuesOf(() => parse({ mcpServers: base, gateway: { servers: { a: { prefix: 'c' } } } }));
    expect(paths(dupName)).toEqual(['mcpServers.c']);

    expect(pathsOf({ mcpServers: base, gateway: { servers: { a: { prefix: 'x.y' } } } })).toEqual(['gateway.servers.a.prefix']);
    expect(pathsOf({ mcpServers: base, gateway: { servers: { a: { prefix: 'x__y' } } } })).toEqual(['gateway.servers.a.prefix']);
  });

  it('ignores skipped servers when checking prefixes', () => {
    const cfg = parse({
      mcpServers: { a: { command: 'x' }, b: { url: '' } },
      gateway: { servers: { b: { prefix: 'a' } } },
    });
    expect(cfg.skipped.map((s) => s.name)).toEqual(['b']);
  });

  it('rejects gateway.servers entries naming no server, suggesting the closest', () => {
    const raw = { mcpServers: { github: { url: 'https://x' } }, gateway: { servers: { githb: {} } } };
    const issues = issuesOf(() => parse(raw));
    expect(paths(issues)).toEqual(['gateway.servers.githb']);
    expect(issues[0]?.fix).toContain('"github"');
  });

  it('works out per-server settings from defaults', () => {
    const cfg = parse({
      mcpServers: { a: { command: 'x' }, b: { command: 'y' } },
      gateway: { requestTimeoutMs: 5000, servers: { b: { timeoutMs: 100, maxProcesses: 2, isolation: 'session' } } },
    });
    expect(server(cfg, 'a')).toEqual({
      name: 'a',
      spec: { type: 'stdio', command: 'x', args: [], env: {} } satisfies StdioServerSpec,
      prefix: 'a',
      timeoutMs: 5000,
      enabled: true,
      isolation: 'shared',
      maxProcesses: 50,
      trustAnnotations: false,
      pinning: { mode: 'off', onNew: 'quarantine', onChanged: 'quarantine' },
      forwardMeta: [],
      identityHeaders: {},
      credentials: 'static',
    });
    expect(server(cfg, 'b')).toMatchObject({ timeoutMs: 100, maxProcesses: 2, isolation: 'session' });
  });

  it('warns about isolation "session" on a remote server', () => {
    const cfg = parse({
      mcpServers: { r: { url: 'https://x' } },
      gateway: { servers: { r: { isolation: 'session' } } },
    });
    expect(cfg.warnings).toEqual([expect.stringContaining('isolation')]);
  });

  it('rejects both "mcpServers" and "servers"', () => {
    expect(pathsOf({ mcpServers: {}, servers: {} })).toEqual(['servers']);
  });

  it('accepts an empty mcpServers with a warning', () => {
    expect(parse({ mcpServers: {} }).warnings).toEqual([expect.stringContaining('no servers')]);
  });

  it('rejects a file that is not an object', () => {
    expect(pathsOf([])).toEqual(['']);
    expect(pathsOf(null)).toEqual(['']);
    expect(pathsOf({ mcpServers: [] })).toEqual(['mcpServers']);
  });
});
