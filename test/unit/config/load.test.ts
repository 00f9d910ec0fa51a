import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { defaultGatewaySettings } from '../../../src/config/resolve.js';
import type { HttpServerSpec, LoadedConfig } from '../../../src/config/schema/index.js';
import { ENV, fixture, issueAt, issuesOf, parse, paths, pathsOf, server } from './helpers.js';

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
