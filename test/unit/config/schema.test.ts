import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigFileSchema, GatewaySchema, ServerEntrySchema, closestKey, configJsonSchema, knownKeysAt } from '../../../src/config/schema/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const committedFile = path.join(root, 'schema/switchboard.schema.json');

describe('schema/switchboard.schema.json', () => {
  it('matches the zod schema (no drift)', () => {
    let committed: unknown;
    try {
      committed = JSON.parse(readFileSync(committedFile, 'utf8'));
    } catch (err) {
      expect.fail(`cannot read ${committedFile} (${String(err)}): run \`npm run schema\``);
    }
    expect(committed, 'schema/switchboard.schema.json is out of date with src/config/schema/: run `npm run schema`, commit the result').toEqual(
      configJsonSchema(),
    );
  });

  it('is written byte-for-byte as the generator writes it', () => {
    const text = readFileSync(committedFile, 'utf8');
    const generated = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    expect(text, 'schema/switchboard.schema.json is not as the generator writes it: run `npm run schema`').toBe(generated);
  });

  it("lets editors accept other clients' keys but not unknown gateway keys", () => {
    type Node = { additionalProperties?: unknown; default?: unknown; properties?: Record<string, Node> };
    const json = configJsonSchema() as Node & { properties: Record<string, Node> };
    expect(json.additionalProperties).toEqual({});
    expect(json.properties.gateway?.additionalProperties).toBe(false);
    expect(json.properties.gateway?.properties?.separator?.default).toBe('__');
    expect(json.properties.gateway?.properties?.maxBodyBytes?.default).toBe(4194304);
    expect(json.properties.mcpServers).toMatchObject({ propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' } });
  });
});

describe('ConfigFileSchema', () => {
  it('accepts a bare .mcp.json and the documented example', () => {
    expect(ConfigFileSchema.safeParse({ mcpServers: { a: { command: 'x' } } }).success).toBe(true);
    const example = JSON.parse(readFileSync(path.join(root, 'test/fixtures/configs/valid/full.json'), 'utf8'));
    expect(ConfigFileSchema.safeParse(example).success).toBe(true);
  });

  it('tolerates unknown top-level keys', () => {
    expect(ConfigFileSchema.safeParse({ mcpServers: {}, globalShortcut: 'x', inputs: [] }).success).toBe(true);
  });

  it.each([
    [{ command: 'node' }, true],
    [{ type: 'stdio', command: 'node', args: ['a'], env: { A: 'b' }, cwd: '.' }, true],
    [{ url: 'https://x' }, true],
    [{ type: 'sse', url: '' }, true],
    [{ type: 'streamable-http', url: 'https://x' }, true],
    [{ type: 'streamableHttp', url: 'https://x' }, true],
    [{ type: 'http', url: 'https://x', oauth: { clientId: 'c', callbackPort: 3118 } }, true],
    [{ command: 'node', somethingElse: { nested: true } }, true],
    [{ type: 'http', url: 'https://x', oauth: { clientId: 'c' } }, false],
    [{ type: 'http', url: 'https://x', oauth: { clientId: 'c', callbackPort: 0 } }, false],
    [{ type: 'websocket', url: 'wss://x' }, false],
    [{ args: [] }, false],
    [{ command: '' }, false],
    [{ command: 'x', env: { A: 1 } }, false],
  ])('server entry %j valid: %s', (entry, valid) => {
    expect(ServerEntrySchema.safeParse(entry).success).toBe(valid);
  });

  it('fills server entry defaults', () => {
    expect(ServerEntrySchema.parse({ command: 'x' })).toEqual({ command: 'x', args: [], env: {} });
    expect(ServerEntrySchema.parse({ url: 'u' })).toEqual({ url: 'u', headers: {} });
  });

  it.each([['ok'], ['a-b_c'], ['A1'], ['1password']])('accepts the server name %j', (name) => {
    expect(ConfigFileSchema.safeParse({ mcpServers: { [name]: { command: 'x' } } }).success).toBe(true);
  });

  it.each([['a.b'], ['-a'], ['_a'], [''], ['a b'], ['ä']])('rejects the server name %j', (name) => {
    expect(ConfigFileSchema.safeParse({ mcpServers: { [name]: { command: 'x' } } }).success).toBe(false);
  });
});

describe('GatewaySchema', () => {
  it('fills every default from {}', () => {
    expect(GatewaySchema.parse({})).toEqual({
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
      servers: {},
      policies: './policies',
      defaultEffect: 'allow',
      auth: { apiKeys: [] },
      stdioPrincipal: { id: 'local', scopes: [], groups: [] },
      metrics: { enabled: true },
      audit: { file: '-', includeArgs: false, redact: [], checkpointEvery: 1000, checkpointMs: 60000 },
      profiles: {},
      logLevel: 'info',
      pinning: { mode: 'off', lock: './switchboard.lock', onNew: 'quarantine', onChanged: 'quarantine' },
      scan: { mode: 'off', severity: 'high' },
      console: {
        enabled: false,
        path: '/console',
        sessionMs: 3600000,
        signInsPerMinute: 10,
        roles: { admin: { scopes: ['switchboard.admin'], groups: [] }, viewer: { scopes: ['switchboard.viewer'], groups: [] } },
      },
      approvals: { store: { type: 'memory' } },
    });
  });

  it('fills nested defaults of partial objects', () => {
    const g = GatewaySchema.parse({ listen: { port: 0 }, servers: { a: {} }, audit: { includeArgs: true } });
    expect(g.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(g.servers.a).toEqual({ enabled: true, isolation: 'shared', maxProcesses: 50, credentials: 'static' });
    expect(g.audit).toEqual({ file: '-', includeArgs: true, redact: [], checkpointEvery: 1000, checkpointMs: 60000 });
  });

  it('rejects unknown keys at every level it owns', () => {
    const typos = [{ lisen: {} }, { listen: { prot: 1 } }, { servers: { a: { prefx: 'x' } } }, { metrics: { on: true } }];
    for (const gateway of typos) {
      expect(GatewaySchema.safeParse(gateway).success, JSON.stringify(gateway)).toBe(false);
    }
  });

  it('checks profiles strictly (a typo must not silently widen a view)', () => {
    expect(GatewaySchema.safeParse({ profiles: { p: { servers: ['a'], tools: ['a__*'] } } }).success).toBe(true);
    expect(GatewaySchema.safeParse({ profiles: { p: { servers: ['a'], tool: ['a__*'] } } }).success).toBe(false);
    expect(GatewaySchema.safeParse({ profiles: { p: { servers: ['a'], disclosure: 'partial' } } }).success).toBe(false);
    expect(GatewaySchema.safeParse({ profiles: { 'bad name': { servers: ['a'] } } }).success).toBe(false);
  });
});

describe('issue helpers', () => {
  it('knows the keys at a path', () => {
    expect(knownKeysAt(['gateway'])).toContain('allowedOrigins');
    expect(knownKeysAt(['gateway', 'servers', 'anything'])).toEqual([
      'prefix',
      'timeoutMs',
      'enabled',
      'isolation',
      'maxProcesses',
      'trustAnnotations',
      'pinning',
      'forwardMeta',
      'identityHeaders',
      'credentials',
      'userOAuth',
      'tokenExchange',
      'idJag',
    ]);
    expect(knownKeysAt(['gateway', 'listen'])).toEqual(['host', 'port']);
    expect(knownKeysAt(['mcpServers', 'x', 'oauth'])).toEqual(['clientId', 'callbackPort', 'clientSecret', 'scopes', 'authServerMetadataUrl', 'grant']);
  });

  it('suggests close keys only', () => {
    expect(closestKey('lisen', ['listen', 'path'])).toBe('listen');
    expect(closestKey('LogLevel', ['logLevel'])).toBe('logLevel');
    expect(closestKey('allowedOrigin', ['allowedOrigins', 'allowedHosts'])).toBe('allowedOrigins');
    expect(closestKey('zzzzzz', ['listen', 'path'])).toBeUndefined();
  });
});
