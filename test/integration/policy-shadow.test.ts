/**
 * Shadow rules through a real gateway and a real upstream: a shadow deny
 * changes no outcome (the call succeeds, the tool stays listed) but is
 * counted in `switchboard_policy_shadow_decisions_total`; `policy explain`
 * and `policy test` show and test what it would do. The CLI runs the build
 * in dist/ (`npm run build` first).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';

const POLICY = `
rules:
  - id: echo-going-away
    description: echo is switched off next week
    match: { servers: [ks], tools: [echo] }
    effect: deny
    mode: shadow
  - id: add-needs-math
    match: { servers: [ks], tools: [add] }
    effect: require
    scopes: [math]
    mode: shadow
  - id: no-fail
    match: { servers: [ks], tools: [fail] }
    effect: deny
`;

const TESTS = `
cases:
  - name: echo still works, and would be denied
    request: { server: ks, tool: echo, args: { text: hi } }
    expect: { effect: allow, shadow: { effect: deny, ruleId: echo-going-away, code: POLICY_DENIED } }
  - name: add would need the scope
    request: { server: ks, tool: add }
    expect: { effect: allow, shadow: { effect: deny, code: INSUFFICIENT_SCOPE } }
  - name: fail stays denied
    request: { server: ks, tool: fail }
    expect: { effect: deny, ruleId: no-fail, shadow: deny }
`;

let dir: string;
let gw: RunningGateway;
let client: Client;

const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
const shadowCount = (text: string, rule: string, effect: string): number | undefined => {
  const line = text
    .split('\n')
    .find((l) => l.startsWith('switchboard_policy_shadow_decisions_total{') && l.includes(`rule="${rule}"`) && l.includes(`effect="${effect}"`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-shadow-'));
  const policies = path.join(dir, 'policies');
  mkdirSync(policies);
  writeFileSync(path.join(policies, 'ks.yaml'), POLICY);
  writeFileSync(path.join(policies, 'ks.tests.yaml'), TESTS);
  const config = { mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) }, gateway: { policies } };
  writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
  gw = await startGateway(config);
  client = new Client({ name: 'shadow-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a shadow deny on a live gateway', () => {
  it('hides nothing from the list, and listing counts nothing', async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('ks__echo');
    expect(tools).toContain('ks__add');
    expect(tools).not.toContain('ks__fail'); // enforced rules still filter
    expect(shadowCount(await metrics(), 'echo-going-away', 'deny') ?? 0).toBe(0);
  });

  it('lets the call through and counts what it would have done', async () => {
    const result = await client.callTool({ name: 'ks__echo', arguments: { text: 'still here' } });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'still here' }]);
    const text = await metrics();
    expect(text).toContain('switchboard_policy_shadow_decisions_total{rule="echo-going-away",effect="deny"} 1');
    expect(shadowCount(text, 'add-needs-math', 'require') ?? 0).toBe(0);
    // The enforced decision is the default allow: no deny was counted for the shadow rule.
    expect(text).not.toMatch(/switchboard_policy_decisions_total\{[^}]*rule="echo-going-away"/);
    // The audit record says what happened (allow) and what the shadow rule would have done.
    const record = gw.audit.filter((r) => r.type === 'audit' && r.name === 'ks__echo').at(-1);
    expect(record).toMatchObject({
      decision: 'allow',
      outcome: 'ok',
      shadow: { rules: [{ ruleId: 'echo-going-away', effect: 'deny', outcome: 'matched' }], would: { allowed: false, ruleId: 'echo-going-away' } },
    });
  });

  it('a shadow require that does not hold is counted too; the call succeeds', async () => {
    const result = await client.callTool({ name: 'ks__add', arguments: { a: 2, b: 3 } });
    expect(result.content).toEqual([{ type: 'text', text: '5' }]);
    expect(shadowCount(await metrics(), 'add-needs-math', 'require')).toBe(1);
  });

  it('enforced rules still refuse', async () => {
    const error = await client.callTool({ name: 'ks__fail', arguments: {} }).then(
      () => undefined,
      (e: unknown) => e as McpError,
    );
    expect(error?.code).toBe(-32003);
    expect(shadowCount(await metrics(), 'echo-going-away', 'deny')).toBe(1);
  });
});

describe('the CLI', () => {
  it('policy explain prints the shadow outcome apart from the decision', async () => {
    const r = await runCli(['policy', 'explain', '--config', path.join(dir, 'switchboard.json'), '--call', 'ks__echo'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { decision: Record<string, unknown>; shadow: Record<string, unknown> };
    expect(out.decision).toMatchObject({ allowed: true });
    expect(out.decision).not.toHaveProperty('shadow');
    expect(out.shadow).toMatchObject({
      rules: [{ ruleId: 'echo-going-away', effect: 'deny', outcome: 'matched' }],
      would: { allowed: false, ruleId: 'echo-going-away', code: 'POLICY_DENIED' },
    });
    expect(r.stderr).toContain('ALLOW (default)');
    expect(r.stderr).toContain('SHADOW: would DENY by echo-going-away');
  });

  it('policy test checks shadow expectations', async () => {
    const r = await runCli(['policy', 'test', '--config', path.join(dir, 'switchboard.json')], { cwd: dir });
    expect(r.stdout).toContain('3 passed, 0 failed');
    expect(r.code, r.stdout).toBe(0);
  });
});
