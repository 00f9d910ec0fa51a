import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../src/core/errors.js';
import {
  defaultGatewaySettings,
  findConfigFile,
  formatPath,
  loadConfigFile,
  parseConfig,
} from '../../../src/config/load.js';
import type { HttpServerSpec, LoadedConfig, StdioServerSpec } from '../../../src/config/schema.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/configs');
const fixture = (name: string) => path.join(fixtures, name);
const ENV = { FILES_TOKEN: 'files-secret', GITHUB_TOKEN: 'gh-secret' };

/** Runs `fn`, expects a ConfigError, returns its issues after checking their common shape. */
function issuesOf(fn: () => unknown, file?: string): ConfigIssue[] {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.code).toBe('CONFIG_INVALID');
  expect(err.issues.length).toBeGreaterThan(0);
  for (const issue of err.issues) {
    if (file !== undefined) expect(issue.file).toBe(file);
    expect(issue.message).not.toBe('');
    expect(issue.fix).toBeTruthy();
  }
  return err.issues;
}
const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path);
const issueAt = (issues: ConfigIssue[], p: string) => {
  const found = issues.find((i) => i.path === p);
  expect(found, `no issue at ${p}; got ${JSON.stringify(paths(issues))}`).toBeDefined();
  return found!;
};
const parse = (raw: unknown, env: Record<string, string | undefined> = {}) => parseConfig(raw, '<inline>', env);
const server = (cfg: LoadedConfig, name: string) => cfg.servers.find((s) => s.name === name)!;
/** Paths of the issues parsing `raw` inline reports. */
const pathsOf = (raw: unknown) => paths(issuesOf(() => parse(raw), '<inline>'));

describe('findConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-find-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const touch = (name: string) => {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{"mcpServers":{}}');
    return file;
  };

  it('returns undefined when nothing is found', () => {
    expect(findConfigFile({ cwd: dir, env: {} })).toBeUndefined();
  });

  it('looks for switchboard.json, switchboard.yaml, switchboard.yml, .mcp.json in that order', () => {
    const mcp = touch('.mcp.json');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(mcp);
    const yml = touch('switchboard.yml');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(yml);
    const yaml = touch('switchboard.yaml');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(yaml);
    const json = touch('switchboard.json');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(json);
  });

  it('prefers SWITCHBOARD_CONFIG over the working directory, and explicit over both', () => {
    touch('switchboard.json');
    const fromEnv = touch('env/config.yaml');
    const explicit = touch('explicit/config.json');
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: 'env/config.yaml' } })).toBe(fromEnv);
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: fromEnv }, explicit: 'explicit/config.json' })).toBe(
      explicit,
    );
  });

  it('ignores an empty SWITCHBOARD_CONFIG', () => {
    const json = touch('switchboard.json');
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: '' } })).toBe(json);
  });

  it('fails naming an explicit or SWITCHBOARD_CONFIG file that does not exist', () => {
    touch('switchboard.json');
    const missing = path.join(dir, 'nope.json');
    expect(issuesOf(() => findConfigFile({ cwd: dir, env: {}, explicit: 'nope.json' }))[0]?.file).toBe(missing);
    const fromEnv = issuesOf(() => findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: missing } }));
    expect(fromEnv[0]?.file).toBe(missing);
    expect(fromEnv[0]?.message).toContain('SWITCHBOARD_CONFIG');
  });

  it('does not accept a directory as the config file', () => {
    mkdirSync(path.join(dir, 'conf'));
    issuesOf(() => findConfigFile({ cwd: dir, env: {}, explicit: 'conf' }));
  });
});

describe('loadConfigFile', () => {
  it('loads an unchanged claude_desktop_config.json / .mcp.json', () => {
    const file = fixture('valid/claude-desktop.json');
    const cfg = loadConfigFile(file, {});
    expect(cfg.file).toBe(file);
    expect(cfg.servers.map((s) => s.name)).toEqual(['filesystem', 'memory', 'remote']);
    expect(server(cfg, 'filesystem').spec).toEqual({
      type: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', './data'],
      env: {},
    });
    expect(server(cfg, 'memory').spec).toMatchObject({ command: 'node', env: { MEMORY_FILE_PATH: './memory.json' } });
    expect(server(cfg, 'remote').spec).toEqual({ type: 'http', url: 'https://example.com/mcp', headers: {} });
    expect(cfg.gateway).toEqual(defaultGatewaySettings(path.dirname(file)));
    expect(cfg.skipped).toEqual([]);
    expect(cfg.warnings).toEqual([]);
  });

  it('loads the full JSON example and its YAML twin to the same result', () => {
    const json = loadConfigFile(fixture('valid/full.json'), ENV);
    const yaml = loadConfigFile(fixture('valid/full.yaml'), ENV);
    expect({ ...yaml, file: '' }).toEqual({ ...json, file: '' });
    expect(yaml.file).toBe(fixture('valid/full.yaml'));
  });

  it('maps the full example onto servers and settings', () => {
    const cfg = loadConfigFile(fixture('valid/full.json'), ENV);
    const dir = path.dirname(fixture('valid/full.json'));
    expect(cfg.servers.map((s) => s.name)).toEqual(['files', 'github', 'legacy', 'slack']);
    expect(cfg.skipped).toEqual([{ name: 'later', reason: expect.stringContaining('url') }]);
    expect(cfg.warnings).toEqual([expect.stringContaining('later')]);

    const files = server(cfg, 'files');
    expect(files.spec).toEqual({
      type: 'stdio',
      command: 'node',
      args: ['server.js'],
      env: { TOKEN: 'files-secret' },
      cwd: path.join(dir, 'servers/files'),
    });
    expect(files).toMatchObject({ prefix: 'files', isolation: 'session', maxProcesses: 5, trustAnnotations: true });
    expect(files.timeoutMs).toBe(60000);

    const github = server(cfg, 'github');
    expect((github.spec as HttpServerSpec).headers).toEqual({ Authorization: 'Bearer gh-secret' });
    expect(github).toMatchObject({ prefix: 'gh', timeoutMs: 30000, enabled: true, isolation: 'shared' });
    expect(github.trustAnnotations).toBe(false);
    expect(server(cfg, 'legacy')).toMatchObject({ enabled: false, spec: { type: 'sse' } });
    expect(server(cfg, 'slack').spec).toMatchObject({ oauth: { clientId: 'abc', callbackPort: 3118 } });

    expect(cfg.gateway).toMatchObject({
      listen: { host: '0.0.0.0', port: 9090 },
      allowedOrigins: ['https://app.example.com'],
      maxBodyBytes: 1048576,
      policies: path.join(dir, 'my-policies'),
      defaultEffect: 'deny',
      stdioPrincipal: { id: 'me', scopes: ['all'], groups: [] },
      metrics: { enabled: false },
      audit: { file: path.join(dir, 'audit.log'), includeArgs: true },
      logLevel: 'debug',
    });
    expect(cfg.gateway.auth.apiKeys[0]).toMatchObject({ id: 'ci-bot', scopes: ['repo.read'], groups: ['bots'] });
    expect(cfg.gateway.auth.jwt?.issuer).toBe('https://issuer.example.com');
    expect(cfg.gateway.profiles).toHaveProperty('sales');
    expect(cfg.gateway).not.toHaveProperty('servers');
  });

  it('accepts VS Code\'s "servers" key and the http type aliases', () => {
    const cfg = loadConfigFile(fixture('valid/vscode.json'), {});
    expect(cfg.servers.map((s) => [s.name, s.spec.type])).toEqual([
      ['fetch', 'stdio'],
      ['remote', 'http'],
      ['camel', 'http'],
      ['untyped', 'http'],
    ]);
  });

  it('reports a JSON syntax error with line and column', () => {
    const file = fixture('invalid/trailing-comma.json');
    const [issue, ...rest] = issuesOf(() => loadConfigFile(file, {}), file);
    expect(rest).toEqual([]);
    expect(issue?.path).toBe('');
    expect(issue?.message).toMatch(/line 3, column 31/);
  });

  it.each([
    ['{"a": }', /line 1, column 7/],
    ['{\n  "a": 1\n  "b": 2\n}', /line 3, column 3/],
    ['{"a": [1, 2}', /line 1, column 12/],
    ['{"a": 1', /line 1, column 8/],
    ['{"a": 1} x', /line 1, column 10/],
    ['{"a": "\\q"}', /line 1, column 9/],
  ])('locates JSON syntax errors: %j', (text, where) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-json-'));
    try {
      const file = path.join(dir, 'switchboard.json');
      writeFileSync(file, text);
      expect(issuesOf(() => loadConfigFile(file, {}), file)[0]?.message).toMatch(where);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a YAML syntax error with its line', () => {
    const file = fixture('invalid/bad-indent.yaml');
    const issues = issuesOf(() => loadConfigFile(file, {}), file);
    expect(issues[0]?.path).toBe('');
    expect(issues[0]?.message).toMatch(/YAML.*line 4/);
  });

  it('reports a file it cannot read', () => {
    const file = fixture('missing.json');
    expect(paths(issuesOf(() => loadConfigFile(file, {}), file))).toEqual(['']);
  });

  it('tolerates a byte-order mark', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-bom-'));
    try {
      const file = path.join(dir, '.mcp.json');
      writeFileSync(file, '\uFEFF{"mcpServers":{"a":{"command":"x"}}}');
      expect(loadConfigFile(file, {}).servers).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports every issue of a bad file at once', () => {
    const file = fixture('invalid/many-issues.json');
    const issues = issuesOf(() => loadConfigFile(file, {}), file);
    expect(paths(issues).sort()).toEqual(
      [
        'mcpServers.no-command',
        'mcpServers["bad.name"]',
        'mcpServers.slack.oauth.callbackPort',
        'mcpServers.weird.type',
        'gateway.lisen',
        'gateway.separator',
        'gateway.servers.ghost',
        'gateway.logLevel',
      ].sort(),
    );
    expect(issueAt(issues, 'mcpServers.no-command').message).toContain('"command"');
    expect(issueAt(issues, 'gateway.lisen').fix).toContain('"listen"');
    expect(issueAt(issues, 'mcpServers.weird.type').fix).toMatch(/stdio|http|sse/);
  });

  it('suggests the closest key for unknown keys in gateway, nested too', () => {
    const file = fixture('invalid/unknown-gateway-key.yaml');
    const issues = issuesOf(() => loadConfigFile(file, {}), file);
    expect(paths(issues).sort()).toEqual(['gateway.allowedOrigin', 'gateway.servers.files.isolaton']);
    expect(issueAt(issues, 'gateway.allowedOrigin').fix).toContain('"allowedOrigins"');
    expect(issueAt(issues, 'gateway.servers.files.isolaton').fix).toContain('"isolation"');
  });

  it('requires mcpServers', () => {
    const file = fixture('invalid/no-servers.json');
    const issues = issuesOf(() => loadConfigFile(file, {}), file);
    expect(issues).toEqual([expect.objectContaining({ path: '', fix: 'add an "mcpServers" object' })]);
  });
});

describe('parseConfig: substitution', () => {
  const github = (authorization: string) => ({
    mcpServers: { github: { type: 'http', url: 'https://x/mcp', headers: { Authorization: authorization } } },
  });
  const auth = (cfg: LoadedConfig) => (server(cfg, 'github').spec as HttpServerSpec).headers.Authorization;

  it('substitutes ${VAR} and ${VAR:-default}', () => {
    expect(auth(parse(github('Bearer ${GITHUB_TOKEN}'), { GITHUB_TOKEN: 't0k' }))).toBe('Bearer t0k');
    expect(auth(parse(github('${A}-${B:-two}-${C:-}'), { A: 'one' }))).toBe('one-two-');
    expect(auth(parse(github('${B:-two}'), { B: 'set' }))).toBe('set');
    expect(auth(parse(github('${B:-two}'), { B: '' }))).toBe('two');
    expect(auth(parse(github('${B}'), { B: '' }))).toBe('');
    expect(auth(parse(github('${env:B}'), { B: 'vscode-style' }))).toBe('vscode-style');
  });

  it('reads process.env by default', () => {
    process.env.SWITCHBOARD_TEST_VAR = 'from-process';
    try {
      expect(auth(parseConfig(github('${SWITCHBOARD_TEST_VAR}'), '<inline>'))).toBe('from-process');
    } finally {
      delete process.env.SWITCHBOARD_TEST_VAR;
    }
  });

  it('names the field and the variable when one is missing', () => {
    const issues = issuesOf(() => parse(github('Bearer ${GITHUB_TOKEN}')), '<inline>');
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('mcpServers.github.headers.Authorization');
    expect(issues[0]?.message).toContain('GITHUB_TOKEN');
    expect(issues[0]?.fix).toContain('${GITHUB_TOKEN:-');
  });

  it('treats $${ as a literal ${', () => {
    expect(auth(parse(github('$${NOT_A_VAR} and ${X}'), { X: 'x' }))).toBe('${NOT_A_VAR} and x');
  });

  it('rejects malformed references', () => {
    expect(pathsOf(github('${unclosed'))).toEqual(['mcpServers.github.headers.Authorization']);
    expect(pathsOf(github('${not valid}'))).toEqual(['mcpServers.github.headers.Authorization']);
  });

  it('substitutes in every string value, arrays and gateway included, but not in keys', () => {
    const cfg = parse(
      {
        mcpServers: { files: { command: '${CMD}', args: ['--root', '${ROOT:-/srv}'], env: { '${KEY}': '${V}' } } },
        gateway: { listen: { host: '${HOST:-127.0.0.1}' }, audit: { file: '${AUDIT:--}' } },
      },
      { CMD: 'node', V: 'v' },
    );
    expect(server(cfg, 'files').spec).toEqual({
      type: 'stdio',
      command: 'node',
      args: ['--root', '/srv'],
      env: { '${KEY}': 'v' },
    });
    expect(cfg.gateway.listen.host).toBe('127.0.0.1');
    expect(cfg.gateway.audit.file).toBe('-');
  });

  it('reports missing variables inside arrays with an index path', () => {
    const issues = issuesOf(() => parse({ mcpServers: { files: { command: 'node', args: ['a', '${NOPE}'] } } }));
    expect(paths(issues)).toEqual(['mcpServers.files.args[1]']);
  });
});

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
    expect(pathsOf({ mcpServers: { a: { url: 'x', headers: { A: 1 } } } })).toEqual([
      'mcpServers.a.headers.A',
    ]);
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

    expect(pathsOf({ mcpServers: base, gateway: { servers: { a: { prefix: 'x.y' } } } })).toEqual([
      'gateway.servers.a.prefix',
    ]);
    expect(pathsOf({ mcpServers: base, gateway: { servers: { a: { prefix: 'x__y' } } } })).toEqual([
      'gateway.servers.a.prefix',
    ]);
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

describe('parseConfig: gateway', () => {
  it('applies the documented defaults', () => {
    const cfg = parse({ mcpServers: {} });
    expect(cfg.gateway).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      path: '/mcp',
      separator: '__',
      allowedOrigins: [],
      allowedHosts: [],
      maxBodyBytes: 4194304,
      sessionIdleMs: 1800000,
      requestTimeoutMs: 60000,
      maxRequestTimeoutMs: 600000,
      drainMs: 10000,
      shutdownDelayMs: 0,
      limits: { maxSessions: 10000, maxSessionsPerPrincipal: 100 },
      rateLimit: { store: { type: 'memory', maxKeys: 100000 } },
      tracing: { enabled: false, serviceName: 'switchboard' },
      policies: path.resolve('policies'),
      defaultEffect: 'allow',
      auth: { apiKeys: [] },
      stdioPrincipal: { id: 'local', scopes: [], groups: [] },
      metrics: { enabled: true },
      audit: { file: '-', includeArgs: false },
      profiles: {},
      logLevel: 'info',
    });
    const elsewhere = { ...cfg.gateway, policies: path.resolve('/etc/sb', 'policies') };
    expect(defaultGatewaySettings('/etc/sb')).toEqual(elsewhere);
  });

  it.each([[''], ['::'], ['a b'], [3]])('rejects the separator %j', (separator) => {
    expect(pathsOf({ mcpServers: {}, gateway: { separator } })).toEqual(['gateway.separator']);
  });

  it.each([['.'], ['__'], ['-'], ['_x_']])('accepts the separator %j', (separator) => {
    expect(parse({ mcpServers: { a: { command: 'x' } }, gateway: { separator } }).gateway.separator).toBe(separator);
  });

  it('reports wrong types and ranges at their paths', () => {
    const issues = issuesOf(() =>
      parse({
        mcpServers: {},
        gateway: {
          listen: { port: 70000, host: 1 },
          path: 'mcp',
          maxBodyBytes: 0,
          defaultEffect: 'alow',
          metrics: { enabled: 'yes' },
          stdioPrincipal: { scopes: [] },
          requestTimeoutMs: 1.5,
        },
      }),
    );
    expect(paths(issues).sort()).toEqual(
      [
        'gateway.listen.port',
        'gateway.listen.host',
        'gateway.path',
        'gateway.maxBodyBytes',
        'gateway.defaultEffect',
        'gateway.metrics.enabled',
        'gateway.stdioPrincipal.id',
        'gateway.requestTimeoutMs',
      ].sort(),
    );
    expect(issueAt(issues, 'gateway.defaultEffect').fix).toContain('"allow"');
  });

  it('rejects timeouts above maxRequestTimeoutMs', () => {
    const issues = issuesOf(() =>
      parse({
        mcpServers: { a: { command: 'x' } },
        gateway: { requestTimeoutMs: 2000, maxRequestTimeoutMs: 1000, servers: { a: { timeoutMs: 5000 } } },
      }),
    );
    expect(paths(issues)).toEqual(['gateway.servers.a.timeoutMs', 'gateway.requestTimeoutMs']);
  });

  it('validates auth loosely but keeps extra keys', () => {
    const cfg = parse({ mcpServers: {}, gateway: { auth: { apiKeys: [{ id: 'k', sha256: 'abc', note: 'n' }], extra: 1 } } });
    expect(cfg.gateway.auth).toEqual({
      apiKeys: [{ id: 'k', sha256: 'abc', scopes: [], groups: [], note: 'n' }],
      extra: 1,
    });
    expect(pathsOf({ mcpServers: {}, gateway: { auth: { apiKeys: [{ id: 'k' }] } } })).toEqual([
      'gateway.auth.apiKeys[0].sha256',
    ]);
    expect(pathsOf({ mcpServers: {}, gateway: { auth: { jwt: {} } } })).toEqual(['gateway.auth.jwt.issuer']);
  });

  it('lists known keys when an unknown gateway key resembles none', () => {
    const [issue] = issuesOf(() => parse({ mcpServers: {}, gateway: { zzzzzzzz: 1 } }));
    expect(issue?.path).toBe('gateway.zzzzzzzz');
    expect(issue?.fix).toContain('separator');
  });
});

describe('formatPath', () => {
  it('uses dots, indexes and brackets for unusual keys', () => {
    const github = ['mcpServers', 'github', 'headers', 'Authorization'];
    expect(formatPath(github)).toBe('mcpServers.github.headers.Authorization');
    expect(formatPath(['mcpServers', 'weird.key', 'args', 0])).toBe('mcpServers["weird.key"].args[0]');
    expect(formatPath(['a b'])).toBe('["a b"]');
    expect(formatPath([])).toBe('');
  });
});

describe('profiles', () => {
  const base = { mcpServers: { crm: { command: 'crm' }, slack: { command: 'slack' }, warehouse: { command: 'wh' } } };

  it('resolves each profile with where it is served', () => {
    const config = parseConfig({ ...base, gateway: { profiles: { sales: { servers: ['crm', 'slack'] }, data: { path: '/data', servers: ['warehouse'], disclosure: 'search' } } } }, '<inline>', {});
    expect(config.gateway.profiles.sales).toMatchObject({ name: 'sales', path: '/mcp/sales', servers: ['crm', 'slack'], disclosure: 'full', enabled: true });
    expect(config.gateway.profiles.data).toMatchObject({ path: '/data', disclosure: 'search', pinned: [] });
  });

  it('rejects a profile naming an unknown server, with the fix', () => {
    try {
      parseConfig({ ...base, gateway: { profiles: { sales: { servers: ['crm', 'hubspot'] } } } }, '<inline>', {});
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([expect.objectContaining({ path: 'gateway.profiles.sales.servers[1]', fix: expect.stringContaining('crm') })]);
    }
  });

  it('rejects clashing paths and profiles without servers', () => {
    try {
      parseConfig({ ...base, gateway: { profiles: { a: { path: '/x', servers: ['crm'] }, b: { path: '/x', servers: ['crm'] }, c: {}, d: { path: '/healthz', servers: ['crm'] } } } }, '<inline>', {});
      expect.unreachable();
    } catch (err) {
      const paths = (err as ConfigError).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['gateway.profiles.b.path', 'gateway.profiles.c', 'gateway.profiles.d.path']));
    }
  });

  it('mounts a plugin .mcp.json as a profile, its servers beside the others', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-plugin-'));
    const plugin = path.join(dir, 'plugins/sales');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(path.join(plugin, '.mcp.json'), JSON.stringify({ mcpServers: { hubspot: { command: 'node', args: ['server.js'], env: { TOKEN: '${HUBSPOT_TOKEN}' } } } }));
    const file = path.join(dir, 'switchboard.json');
    writeFileSync(file, JSON.stringify({ ...base, gateway: { profiles: { sales: { include: './plugins/sales/.mcp.json' } } } }));
    const config = loadConfigFile(file, { HUBSPOT_TOKEN: 't0k' });
    const hubspot = config.servers.find((s) => s.name === 'hubspot')!;
    expect(hubspot.spec).toMatchObject({ type: 'stdio', command: 'node', cwd: plugin, env: { TOKEN: 't0k' } });
    expect(config.gateway.profiles.sales!.servers).toEqual(['hubspot']);
    rmSync(dir, { recursive: true, force: true });
  });
});
