/**
 * The config file's hot reload: servers added, removed and changed while
 * clients stay connected; API keys switched; a broken edit keeps the
 * configuration in force; a change that needs a restart says so; and a
 * Kubernetes ConfigMap mount swapping its `..data` symlink is picked up.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/log.js';
import { eventually, FIXTURES } from '../helpers/gateway.js';

const STDIO = path.join(FIXTURES, 'stdio.mjs');
const KEY_1 = 'first-key-0123456789';
const KEY_2 = 'second-key-0123456789';

function configOf(servers: string[], key: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    mcpServers: Object.fromEntries(servers.map((name) => [name, { command: process.execPath, args: [STDIO, '--name', name] }])),
    gateway: {
      policies: './policies',
      audit: { file: './audit.log' },
      auth: { apiKeys: [{ id: 'ops', sha256: hashKey(key), scopes: [], groups: [] }] },
      ...extra,
    },
  });
}

interface Running {
  gateway: Gateway;
  mcpUrl: string;
  logs: string[];
  close(): Promise<void>;
}

async function serve(file: string): Promise<Running> {
  const logs: string[] = [];
  const gateway = createGateway(loadConfigFile(file), createLogger({ level: 'debug', write: (line) => void logs.push(line) }));
  gateway.start();
  await gateway.settled(20_000);
  const { url } = await gateway.listen('127.0.0.1', 0);
  return { gateway, mcpUrl: `${url}/mcp`, logs, close: () => gateway.stop() };
}

async function connect(mcpUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'reload', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

const toolNames = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe('config hot reload', () => {
  let dir: string;
  let file: string;
  let gw: Running;
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-reload-'));
    mkdirSync(path.join(dir, 'policies'));
    file = path.join(dir, 'switchboard.json');
    writeFileSync(file, configOf(['alpha'], KEY_1));
    gw = await serve(file);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reloaded = async (before: number) =>
    eventually(
      () => gw.gateway.configRuntime.generation,
      (g) => g > before,
      10_000,
    );

  it('adds a server under a live session, and switches API keys, without a restart', async () => {
    const early = await connect(gw.mcpUrl, KEY_1);
    clients.push(early);
    expect(await toolNames(early)).toContain('alpha__echo');
    const before = gw.gateway.configRuntime.generation;
    writeFileSync(file, configOf(['alpha', 'beta'], KEY_1));
    await reloaded(before);
    await eventually(
      () => toolNames(early),
      (names) => names.includes('beta__echo'),
      10_000,
    );
    expect(textOf(await early.callTool({ name: 'beta__echo', arguments: { text: 'new server' } }))).toBe('new server');
    expect(textOf(await early.callTool({ name: 'alpha__echo', arguments: { text: 'still here' } }))).toBe('still here');
    // The added server has its own metrics label, not `other`.
    const scrape = await (await fetch(gw.mcpUrl.replace(/\/mcp$/, '/metrics'))).text();
    expect(scrape).toMatch(/switchboard_requests_total\{[^}]*server="beta"[^}]*\} 1/);
    expect(scrape).not.toMatch(/switchboard_requests_total\{[^}]*server="other"/);

    const keys = gw.gateway.configRuntime.generation;
    writeFileSync(file, configOf(['alpha', 'beta'], KEY_2));
    await reloaded(keys);
    const err = await connect(gw.mcpUrl, KEY_1).catch((e: unknown) => e);
    expect(String(err)).toMatch(/401|Unauthorized|UNAUTHENTICATED/i);
    const late = await connect(gw.mcpUrl, KEY_2);
    clients.push(late);
    expect(await toolNames(late)).toEqual(expect.arrayContaining(['alpha__echo', 'beta__echo']));
  });

  it('keeps the configuration in force when an edit is broken, and says where', async () => {
    const before = gw.gateway.configRuntime.generation;
    writeFileSync(file, configOf(['alpha', 'beta'], KEY_2).replace('"command"', '"commnd"'));
    await eventually(() => gw.logs.some((l) => l.includes('config reload failed')), Boolean, 10_000);
    expect(gw.gateway.configRuntime.generation).toBe(before);
    const line = gw.logs.find((l) => l.includes('config reload failed'))!;
    expect(line).toContain('switchboard.json');
    expect(textOf(await clients[1]!.callTool({ name: 'beta__echo', arguments: { text: 'unchanged' } }))).toBe('unchanged');
  });

  it('removes a server (its child stops), and names changes that need a restart', async () => {
    const before = gw.gateway.configRuntime.generation;
    const alpha = gw.gateway.upstreams.find((u) => u.name === 'alpha')!;
    writeFileSync(file, configOf(['beta'], KEY_2, { sessionIdleMs: 60_000 }));
    await reloaded(before);
    expect(gw.gateway.upstreams.map((u) => u.name)).toEqual(['beta']);
    expect(alpha.state).not.toBe('ready');
    const err = (await clients[1]!.callTool({ name: 'alpha__echo', arguments: { text: 'x' } }).catch((e: unknown) => e)) as McpError;
    expect((err.data as { code: string }).code).toBe('UNKNOWN_TOOL');
    const warning = gw.logs.find((l) => l.includes('take effect only after a restart'))!;
    expect(warning).toContain('sessionIdleMs');
  });
});

describe('config hot reload from a Kubernetes ConfigMap mount', () => {
  it('applies the new file when `..data` is swapped to a new directory', async () => {
    const mount = mkdtempSync(path.join(tmpdir(), 'switchboard-configmap-'));
    const policies = mkdtempSync(path.join(tmpdir(), 'switchboard-configmap-policies-'));
    const publish = (version: string, text: string) => {
      mkdirSync(path.join(mount, version));
      writeFileSync(path.join(mount, version, 'switchboard.json'), text);
      symlinkSync(version, path.join(mount, '..data_tmp'));
      renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    };
    const config = (servers: string[]) => configOf(servers, KEY_1).replace('"./policies"', JSON.stringify(policies)).replace('"./audit.log"', '"-"');
    publish('..2026_11_23_02_00_00.1', config(['alpha']));
    symlinkSync('..data/switchboard.json', path.join(mount, 'switchboard.json'));
    const gw = await serve(path.join(mount, 'switchboard.json'));
    try {
      const before = gw.gateway.configRuntime.generation;
      publish('..2026_11_23_02_05_00.2', config(['alpha', 'gamma']));
      await eventually(
        () => gw.gateway.configRuntime.generation,
        (g) => g > before,
        10_000,
      );
      await eventually(
        () => gw.gateway.upstreams.find((u) => u.name === 'gamma')?.state,
        (s) => s === 'ready',
        10_000,
      );
    } finally {
      await gw.close();
      rmSync(mount, { recursive: true, force: true });
      rmSync(policies, { recursive: true, force: true });
    }
  });
});
