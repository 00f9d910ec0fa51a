/**
 * /metrics after real calls: counters and histograms move with bounded
 * labels, policy decisions and rate limits are counted, and an upstream
 * that dies flips switchboard_upstream_up to 0 and back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');

/** The value of one sample, e.g. value(text, 'switchboard_upstream_up', { server: 'ks' }). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length, line.lastIndexOf(' '));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics on the main port', () => {
  let gw: RunningGateway;
  let client: Client;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-metrics-'));
    writeFileSync(
      path.join(dir, 'p.yaml'),
      'rules:\n  - id: no-fail\n    match: { servers: [ks], tools: [fail] }\n    effect: deny\nservers:\n  ks: { rateLimit: [ { limit: 5, per: minute } ] }\n',
    );
    gw = await startGateway({
      mcpServers: { ks: nodeServer(STDIO_FIXTURE), spare: nodeServer(STDIO_FIXTURE, ['--name', 'spare']) },
      gateway: { policies: dir },
    });
    client = await connectLegacy(gw.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    return res.text();
  };

  it('counts calls, times them, and counts decisions with bounded labels', async () => {
    await client.callTool({ name: 'ks__echo', arguments: { text: 'a' } });
    await client.callTool({ name: 'ks__echo', arguments: { text: 'b' } });
    await client.callTool({ name: 'ks__fail', arguments: {} }).catch(() => {});
    await client.callTool({ name: 'ks__nope', arguments: {} }).catch(() => {});
    const text = await scrape();
    expect(value(text, 'switchboard_requests_total', { server: 'ks', method: 'tools/call', outcome: 'ok' })).toBe(2);
    expect(value(text, 'switchboard_requests_total', { server: 'ks', method: 'tools/call', outcome: 'POLICY_DENIED' })).toBe(1);
    // A name that routes nowhere has no server: it folds into "other".
    expect(value(text, 'switchboard_requests_total', { server: 'other', method: 'tools/call', outcome: 'UNKNOWN_TOOL' })).toBe(1);
    expect(value(text, 'switchboard_request_duration_seconds_count', { server: 'ks', method: 'tools/call' })).toBe(3);
    expect(value(text, 'switchboard_upstream_duration_seconds_count', { server: 'ks', method: 'tools/call' })).toBe(2);
    expect(value(text, 'switchboard_policy_decisions_total', { effect: 'deny', rule: 'no-fail' })).toBe(1);
    expect(value(text, 'switchboard_policy_decisions_total', { effect: 'allow', rule: 'default' })).toBe(2);
    expect(value(text, 'switchboard_sessions', { transport: 'streamable-http', era: 'legacy' })).toBe(1);
    expect(value(text, 'switchboard_catalog_items', { kind: 'tools', server: 'ks' })).toBeGreaterThan(5);
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // The unknown name never becomes a label.
    expect(text).not.toContain('ks__nope');
  });

  it('counts rate-limited calls', async () => {
    for (let i = 0; i < 5; i++) await client.callTool({ name: 'ks__echo', arguments: { text: 'x' } }).catch(() => {});
    expect(value(await scrape(), 'switchboard_rate_limited_total', { server: 'ks' })).toBeGreaterThanOrEqual(1);
  });

  it('flips switchboard_upstream_up to 0 when an upstream dies, and back when it returns', async () => {
    expect(value(await scrape(), 'switchboard_upstream_up', { server: 'spare' })).toBe(1);
    await client.callTool({ name: 'spare__exit', arguments: { code: 1 } }).catch(() => {});
    await eventually(scrape, (text) => value(text, 'switchboard_upstream_up', { server: 'spare' }) === 0);
    const back = await eventually(scrape, (text) => value(text, 'switchboard_upstream_up', { server: 'spare' }) === 1);
    expect(value(back, 'switchboard_upstream_restarts_total', { server: 'spare' })).toBe(1);
  });
});

describe('/metrics on its own port, behind a key', () => {
  let gw: RunningGateway;
  let port: number;

  beforeAll(async () => {
    const { createServer } = await import('node:net');
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    gw = await startGateway({ mcpServers: { ks: nodeServer(STDIO_FIXTURE) }, gateway: { metrics: { port, sha256: hashKey('scrape-key') } } });
  });
  afterAll(async () => gw?.close());

  it('is not on the main port, and needs the key on its own', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: 'Bearer scrape-key' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('switchboard_upstream_up{server="ks"} 1');
  });
});
