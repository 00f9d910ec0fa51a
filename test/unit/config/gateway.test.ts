import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigError } from '../../../src/core/errors.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { defaultGatewaySettings } from '../../../src/config/resolve.js';
import { issueAt, issuesOf, parse, paths, pathsOf } from './helpers.js';

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
      audit: { file: '-', includeArgs: false, redact: [], checkpointEvery: 1000, checkpointMs: 60000 },
      profiles: {},
      logLevel: 'info',
      pinning: { mode: 'off', lock: path.resolve('switchboard.lock'), onNew: 'quarantine', onChanged: 'quarantine' },
      scan: { mode: 'off', severity: 'high' },
      console: {
        enabled: false,
        path: '/console',
        sessionMs: 3600000,
        signInsPerMinute: 10,
        roles: { admin: { scopes: ['switchboard.admin'], groups: [] }, viewer: { scopes: ['switchboard.viewer'], groups: [] } },
      },
      approvals: { store: { type: 'memory' } },
      validateArguments: 'off',
    });
    const elsewhere = {
      ...cfg.gateway,
      policies: path.resolve('/etc/sb', 'policies'),
      pinning: { ...cfg.gateway.pinning, lock: path.resolve('/etc/sb', 'switchboard.lock') },
    };
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
    expect(pathsOf({ mcpServers: {}, gateway: { auth: { apiKeys: [{ id: 'k' }] } } })).toEqual(['gateway.auth.apiKeys[0].sha256']);
    expect(pathsOf({ mcpServers: {}, gateway: { auth: { jwt: {} } } })).toEqual(['gateway.auth.jwt.issuer']);
  });

  it('lists known keys when an unknown gateway key resembles none', () => {
    const [issue] = issuesOf(() => parse({ mcpServers: {}, gateway: { zzzzzzzz: 1 } }));
    expect(issue?.path).toBe('gateway.zzzzzzzz');
    expect(issue?.fix).toContain('separator');
  });
});

describe('profiles', () => {
  const base = { mcpServers: { crm: { command: 'crm' }, slack: { command: 'slack' }, warehouse: { command: 'wh' } } };

  it('resolves each profile with where it is served', () => {
    const config = parseConfig(
      { ...base, gateway: { profiles: { sales: { servers: ['crm', 'slack'] }, data: { path: '/data', servers: ['warehouse'], disclosure: 'search' } } } },
      '<inline>',
      {},
    );
    expect(config.gateway.profiles.sales).toMatchObject({ name: 'sales', path: '/mcp/sales', servers: ['crm', 'slack'], disclosure: 'full', enabled: true });
    expect(config.gateway.profiles.data).toMatchObject({ path: '/data', disclosure: 'search', pinned: [] });
  });

  it('rejects a profile naming an unknown server, with the fix', () => {
    try {
      parseConfig({ ...base, gateway: { profiles: { sales: { servers: ['crm', 'hubspot'] } } } }, '<inline>', {});
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        expect.objectContaining({ path: 'gateway.profiles.sales.servers[1]', fix: expect.stringContaining('crm') }),
      ]);
    }
  });

  it('rejects clashing paths and profiles without servers', () => {
    try {
      parseConfig(
        {
          ...base,
          gateway: { profiles: { a: { path: '/x', servers: ['crm'] }, b: { path: '/x', servers: ['crm'] }, c: {}, d: { path: '/healthz', servers: ['crm'] } } },
        },
        '<inline>',
        {},
      );
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
    writeFileSync(
      path.join(plugin, '.mcp.json'),
      JSON.stringify({ mcpServers: { hubspot: { command: 'node', args: ['server.js'], env: { TOKEN: '${HUBSPOT_TOKEN}' } } } }),
    );
    const file = path.join(dir, 'switchboard.json');
    writeFileSync(file, JSON.stringify({ ...base, gateway: { profiles: { sales: { include: './plugins/sales/.mcp.json' } } } }));
    const config = loadConfigFile(file, { HUBSPOT_TOKEN: 't0k' });
    const hubspot = config.servers.find((s) => s.name === 'hubspot')!;
    expect(hubspot.spec).toMatchObject({ type: 'stdio', command: 'node', cwd: plugin, env: { TOKEN: 't0k' } });
    expect(config.gateway.profiles.sales!.servers).toEqual(['hubspot']);
    rmSync(dir, { recursive: true, force: true });
  });
});
