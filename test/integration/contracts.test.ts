/**
 * Tool contracts in `enforce`, end to end: a real gateway in front of the
 * shifting stdio fixture, pinned by a lock. Unchanged, everything is served;
 * when the fixture drifts while the gateway runs, clients hear list_changed
 * and every drifted tool, prompt and template is held back (TOOL_QUARANTINED,
 * audited, counted, in /readyz) for every session, the 2026-07-28 path and
 * call_tool alike; `switchboard pin approve` (hot-reloaded) serves it again,
 * and a lock edited by hand on reload is refused, leaving the old one in force.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { writeLock } from '../../src/contracts/lock.js';
import {
  baseState,
  driftedState,
  echoed,
  errorOf,
  listen,
  lockOf,
  metrics,
  readyz,
  sample,
  workspace,
  type Notifications,
  type Workspace,
} from '../fixtures/contracts/harness.js';
import { connectLegacy, eventually, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';

let ws: Workspace;
let gw: RunningGateway;
let client: LegacyClient;
let notes: Notifications;

const toolNames = async (c: { listTools(): Promise<{ tools: { name: string }[] }> }) => (await c.listTools()).tools.map((t) => t.name).sort();
const promptNames = async (c: LegacyClient) => (await c.listPrompts()).prompts.map((p) => p.name).sort();
const templateUris = async (c: LegacyClient) => (await c.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate).sort();

/** What a refusal of a quarantined entry carries. */
const quarantined = (kind: string, name: string, exposed: string, reason: string, drifted: string[]) => ({
  code: -32013,
  data: { code: 'TOOL_QUARANTINED', server: 'fs', kind, name, exposed, reason, drifted },
});

beforeAll(async () => {
  ws = workspace('contracts-enforce', {
    state: baseState(),
    lock: lockOf(baseState()),
    gateway: {
      pinning: { mode: 'enforce' },
      profiles: {
        search: { servers: ['fs'], disclosure: 'search' },
        // A narrow endpoint: read_file, summarize and notes:// are outside its view.
        narrow: { servers: ['fs'], tools: ['fs__stat'], prompts: ['fs__review'], resources: ['fs+docs://*'] },
      },
    },
  });
  gw = await startGateway(ws.config, { file: ws.file });
  client = await connectLegacy(gw.mcpUrl);
  notes = listen(client);
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
  ws?.remove();
});

describe('enforce: pinned, then drifting while the gateway runs', () => {
  it('serves everything and quarantines nothing while the servers serve what was pinned', async () => {
    expect(await toolNames(client)).toEqual(['fs__delete_file', 'fs__list_dir', 'fs__read_file', 'fs__stat', 'fs__write_file']);
    expect(await promptNames(client)).toEqual(['fs__review', 'fs__summarize']);
    expect(await templateUris(client)).toEqual(['fs+docs://{id}', 'fs+notes://{id}']);
    expect(echoed(await client.callTool({ name: 'fs__read_file', arguments: { path: '/etc/hosts' } }))).toEqual({
      tool: 'read_file',
      arguments: { path: '/etc/hosts' },
    });
    expect(JSON.stringify((await client.getPrompt({ name: 'fs__summarize', arguments: { path: 'a' } })).messages)).toContain('prompt summarize');
    expect((await client.readResource({ uri: 'fs+notes://7' })).contents[0]).toMatchObject({ text: 'read notes://7' });

    const ready = await readyz(gw.url);
    expect(ready.contracts).toEqual({ lock: ws.lockFile, pinned: 9, generation: 0, quarantined: [], removed: [] });
    const text = await metrics(gw.url);
    expect(sample(text, 'switchboard_tools_quarantined', { server: 'fs' }) ?? 0).toBe(0);
    for (const kind of ['new', 'changed', 'removed']) expect(sample(text, 'switchboard_tool_drift_total', { server: 'fs', kind })).toBeUndefined();
    expect(gw.audit.filter((r) => r.type === 'contract')).toEqual([]);
    // The call was decided on the pinned contract, and the audit record says so.
    expect(gw.audit.find((r) => r.method === 'tools/call' && r.name === 'fs__read_file')).toMatchObject({
      outcome: 'ok',
      contract: { status: 'pinned', hash: expect.stringMatching(/^sha256:/), approvedHash: expect.stringMatching(/^sha256:/) },
    });
  });

  it('a drift while running: the client hears list_changed, and the next lists no longer have the drifted entries', async () => {
    const heard = { tools: notes.next('tools'), prompts: notes.next('prompts'), resources: notes.next('resources') };
    writeFileSync(ws.stateFile, JSON.stringify(driftedState()));
    await heard.tools;
    // stat is as approved; read_file, write_file, list_dir drifted, exec is new, delete_file is gone.
    expect(await toolNames(client)).toEqual(['fs__stat']);
    await heard.prompts;
    expect(await promptNames(client)).toEqual(['fs__review']);
    await heard.resources;
    expect(await templateUris(client)).toEqual(['fs+docs://{id}']);
  });

  it.each([
    ['read_file', 'a description change', 'changed', ['description']],
    ['write_file', 'readOnlyHint false → true', 'changed', ['annotations']],
    ['list_dir', 'a property added (widening)', 'changed', ['inputSchema']],
    ['exec', 'a new tool (onNew: quarantine by default)', 'new', []],
  ])('fs__%s (%s) is refused with -32013, audited as denied and listed in /readyz', async (name, _what, reason, drifted) => {
    const exposed = `fs__${name}`;
    const before = gw.audit.length;
    const error = await errorOf(client.callTool({ name: exposed, arguments: { path: '/x' } }));
    expect(error).toMatchObject(quarantined('tool', name, exposed, reason, drifted));
    expect(error?.data).toEqual(quarantined('tool', name, exposed, reason, drifted).data);
    const record = gw.audit.slice(before).find((r) => r.method === 'tools/call');
    expect(record).toMatchObject({
      type: 'audit',
      code: 'TOOL_QUARANTINED',
      outcome: 'denied',
      decision: 'deny',
      server: 'fs',
      name: exposed,
      original: name,
      reason: `quarantined: ${reason}`,
      contract: { status: 'quarantined', drifted },
    });
    expect((await readyz(gw.url)).contracts?.quarantined).toContainEqual({ server: 'fs', kind: 'tool', name, exposed, reason, drifted });
  });

  it('a removed tool is unknown (not quarantined) and shows in /readyz removed and switchboard_tool_drift_total{kind="removed"}', async () => {
    const error = await errorOf(client.callTool({ name: 'fs__delete_file', arguments: { path: '/x' } }));
    expect(error).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_TOOL' } });
    expect((await readyz(gw.url)).contracts?.removed).toEqual([{ server: 'fs', kind: 'tool', name: 'delete_file' }]);
    expect(sample(await metrics(gw.url), 'switchboard_tool_drift_total', { server: 'fs', kind: 'removed' })).toBe(1);
    expect(gw.audit).toContainEqual(
      expect.objectContaining({ type: 'contract', event: 'drift', drift: 'removed', server: 'fs', kind: 'tool', name: 'delete_file', action: 'gone' }),
    );
  });

  it('a changed prompt is quarantined: prompts/get and completion are refused; the unchanged one still works', async () => {
    const error = await errorOf(client.getPrompt({ name: 'fs__summarize', arguments: { path: 'a' } }));
    expect(error).toMatchObject(quarantined('prompt', 'summarize', 'fs__summarize', 'changed', ['description']));
    expect(gw.audit.at(-1)).toMatchObject({ method: 'prompts/get', code: 'TOOL_QUARANTINED', outcome: 'denied' });
    expect(JSON.stringify((await client.getPrompt({ name: 'fs__review', arguments: { diff: 'd' } })).messages)).toContain('prompt review');
    // A completion is about its ref: refused the same way.
    const completion = await errorOf(client.complete({ ref: { type: 'ref/prompt', name: 'fs__summarize' }, argument: { name: 'path', value: 'a' } }));
    expect(completion?.data).toEqual(quarantined('prompt', 'summarize', 'fs__summarize', 'changed', ['description']).data);
  });

  it('a quarantined resource template refuses a read (and a subscribe, a completion) of a URI it matches; the other template still serves', async () => {
    const error = await errorOf(client.readResource({ uri: 'fs+notes://7' }));
    expect(error).toMatchObject(quarantined('resourceTemplate', 'notes://{id}', 'fs+notes://{id}', 'changed', ['description']));
    expect(gw.audit.at(-1)).toMatchObject({ method: 'resources/read', code: 'TOOL_QUARANTINED', outcome: 'denied' });
    expect((await client.readResource({ uri: 'fs+docs://3' })).contents[0]).toMatchObject({ text: 'read docs://3' });
    const expected = quarantined('resourceTemplate', 'notes://{id}', 'fs+notes://{id}', 'changed', ['description']).data;
    expect((await errorOf(client.subscribeResource({ uri: 'fs+notes://7' })))?.data).toEqual(expected);
    const completion = await errorOf(client.complete({ ref: { type: 'ref/resource', uri: 'fs+notes://{id}' }, argument: { name: 'id', value: '1' } }));
    expect(completion?.data).toEqual(expected);
  });

  it('counts every drift once and every quarantined entry, and /readyz lists them all', async () => {
    const text = await metrics(gw.url);
    // read_file, write_file, list_dir, the prompt and the template changed; exec is new.
    expect(sample(text, 'switchboard_tool_drift_total', { server: 'fs', kind: 'changed' })).toBe(5);
    expect(sample(text, 'switchboard_tool_drift_total', { server: 'fs', kind: 'new' })).toBe(1);
    expect(sample(text, 'switchboard_tools_quarantined', { server: 'fs' })).toBe(6);
    const contracts = (await readyz(gw.url)).contracts!;
    expect(contracts.quarantined.map((q) => `${q.kind}:${q.name}:${q.reason}`).sort()).toEqual([
      'prompt:summarize:changed',
      'resourceTemplate:notes://{id}:changed',
      'tool:exec:new',
      'tool:list_dir:changed',
      'tool:read_file:changed',
      'tool:write_file:changed',
    ]);
    const drifts = gw.audit.filter((r) => r.type === 'contract' && r.event === 'drift' && r.action === 'quarantined');
    expect(drifts.map((r) => `${r.kind}:${r.name}:${r.drift}`).sort()).toEqual([
      'prompt:summarize:changed',
      'resourceTemplate:notes://{id}:changed',
      'tool:exec:new',
      'tool:list_dir:changed',
      'tool:read_file:changed',
      'tool:write_file:changed',
    ]);
    // Why each change widens (or not) is in the record.
    expect(drifts.find((r) => r.name === 'list_dir')).toMatchObject({ widening: [expect.stringContaining('recursive')] });
    expect(drifts.find((r) => r.name === 'write_file')).toMatchObject({ widening: [expect.stringContaining('readOnlyHint')] });
    expect(drifts.find((r) => r.name === 'read_file')).toMatchObject({ widening: [] });
  });

  it('a second session and the 2026-07-28 path see the same lists and the same refusals', async () => {
    const second = await connectLegacy(gw.mcpUrl);
    const modern = new ModernClient({ name: 'modern', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await modern.connect(new ModernHttpTransport(new URL(gw.mcpUrl)));
    try {
      expect(modern.getProtocolEra()).toBe('modern');
      const listed = await toolNames(client);
      expect(await toolNames(second)).toEqual(listed);
      expect(await toolNames(modern)).toEqual(listed);
      const expected = quarantined('tool', 'read_file', 'fs__read_file', 'changed', ['description']);
      for (const c of [client, second, modern]) {
        const error = await errorOf(c.callTool({ name: 'fs__read_file', arguments: { path: '/x' } }));
        expect(error).toMatchObject({ code: expected.code });
        expect(error?.data).toEqual(expected.data);
      }
      expect(echoed(await modern.callTool({ name: 'fs__stat', arguments: { path: '/y' } }))).toEqual({ tool: 'stat', arguments: { path: '/y' } });
      const modernPrompt = await errorOf(modern.getPrompt({ name: 'fs__summarize', arguments: { path: 'a' } }));
      expect(modernPrompt?.data).toMatchObject({ code: 'TOOL_QUARANTINED', kind: 'prompt' });
    } finally {
      await Promise.allSettled([second.close(), modern.close()]);
    }
  });

  it('call_tool (disclosure "search") refuses a quarantined tool like a direct call, and find_tools does not offer it', async () => {
    const search = await connectLegacy(`${gw.url}/mcp/search`);
    try {
      expect(await toolNames(search)).toEqual(['call_tool', 'find_tools']);
      const error = await errorOf(search.callTool({ name: 'call_tool', arguments: { name: 'fs__read_file', arguments: { path: '/x' } } }));
      expect(error?.data).toEqual(quarantined('tool', 'read_file', 'fs__read_file', 'changed', ['description']).data);
      expect(echoed(await search.callTool({ name: 'call_tool', arguments: { name: 'fs__stat', arguments: { path: '/z' } } }))).toEqual({
        tool: 'stat',
        arguments: { path: '/z' },
      });
      const found = await search.callTool({ name: 'find_tools', arguments: { query: 'read a file from the workspace', limit: 20 } });
      const names = (found.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
      expect(names).not.toContain('fs__read_file');
      expect(names.every((n) => n === 'fs__stat')).toBe(true);
    } finally {
      await search.close();
    }
  });

  it('an endpoint whose view excludes a quarantined entry answers as for any name outside it (unknown), not TOOL_QUARANTINED', async () => {
    const narrow = await connectLegacy(`${gw.url}/mcp/narrow`);
    try {
      expect(await toolNames(narrow)).toEqual(['fs__stat']);
      // Outside the view and not quarantined (served on /mcp): the spec's unknown-name errors.
      expect(await errorOf(narrow.callTool({ name: 'fs__exec_nope', arguments: {} }))).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_TOOL' } });
      expect(await errorOf(narrow.getPrompt({ name: 'fs__nope' }))).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_PROMPT' } });
      // Outside the view and quarantined: must be the same answer ("a name outside the view is as unknown as
      // a name that does not exist", src/pipeline/view.ts), not a refusal that reveals the entry, its server and its drift.
      const tool = await errorOf(narrow.callTool({ name: 'fs__read_file', arguments: { path: '/x' } }));
      const prompt = await errorOf(narrow.getPrompt({ name: 'fs__summarize', arguments: { path: 'a' } }));
      const resource = await errorOf(narrow.readResource({ uri: 'fs+notes://7' }));
      expect({ tool: tool?.data?.code, prompt: prompt?.data?.code, resource: resource?.data?.code }).toEqual({
        tool: 'UNKNOWN_TOOL',
        prompt: 'UNKNOWN_PROMPT',
        resource: 'UNKNOWN_RESOURCE',
      });
    } finally {
      await narrow.close();
    }
  });

  it('`switchboard pin approve fs__read_file`: the running gateway reloads the lock, says list_changed, and serves it again', async () => {
    const heard = notes.next('tools', 15_000);
    const approved = await runCli(['pin', 'approve', 'fs__read_file', '--config', ws.file], { cwd: ws.dir });
    expect(approved.stderr).not.toMatch(/error/i);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('approved ~ fs tool read_file: description');
    await heard;
    expect(gw.gateway.contracts.generation).toBe(1);
    expect(await toolNames(client)).toEqual(['fs__read_file', 'fs__stat']);
    expect(echoed(await client.callTool({ name: 'fs__read_file', arguments: { path: '/again' } }))).toEqual({
      tool: 'read_file',
      arguments: { path: '/again' },
    });
    const contracts = (await readyz(gw.url)).contracts!;
    expect(contracts.generation).toBe(1);
    expect(contracts.quarantined.map((q) => q.name)).not.toContain('read_file');
    expect(contracts.quarantined).toHaveLength(5);
    // Only that entry was approved: the others are still held back.
    expect((await errorOf(client.callTool({ name: 'fs__write_file', arguments: { path: '/x', content: '' } })))?.data).toMatchObject({
      code: 'TOOL_QUARANTINED',
    });
  });

  it('a lock edited by hand is refused on reload: the old lock stays in force and /readyz says stale', async () => {
    const text = readFileSync(ws.lockFile, 'utf8');
    const first = /sha256:[0-9a-f]{64}/.exec(text)![0];
    writeFileSync(ws.lockFile, text.replace(first, `sha256:${'0'.repeat(64)}`));
    // A refused reload announces nothing (the lists do not change): the state is polled.
    await eventually(
      () => gw.gateway.contracts.stale?.reason,
      (reason) => reason === 'invalid',
    );
    const contracts = (await readyz(gw.url)).contracts!;
    expect(contracts.stale).toMatchObject({ reason: 'invalid', since: expect.any(String) });
    expect(contracts.generation).toBe(1);
    expect(contracts.quarantined).toHaveLength(5);
    expect(await toolNames(client)).toEqual(['fs__read_file', 'fs__stat']);
    expect(echoed(await client.callTool({ name: 'fs__read_file', arguments: { path: '/still' } })).arguments).toEqual({ path: '/still' });
    expect(gw.logs.some((l) => l.includes('contract lock reload refused'))).toBe(true);
  });

  it('a lock rewritten with everything approved takes (generation, stale cleared) and every tool is served', async () => {
    const heard = notes.next('tools');
    writeLock(ws.lockFile, lockOf(driftedState()));
    await heard;
    expect(gw.gateway.contracts.generation).toBe(2);
    expect(await toolNames(client)).toEqual(['fs__exec', 'fs__list_dir', 'fs__read_file', 'fs__stat', 'fs__write_file']);
    expect(await promptNames(client)).toEqual(['fs__review', 'fs__summarize']);
    const contracts = (await readyz(gw.url)).contracts!;
    expect(contracts).toMatchObject({ generation: 2, quarantined: [], removed: [] });
    expect(contracts.stale).toBeUndefined();
    expect(echoed(await client.callTool({ name: 'fs__exec', arguments: { cmd: 'ls' } }))).toEqual({ tool: 'exec', arguments: { cmd: 'ls' } });
    expect(sample(await metrics(gw.url), 'switchboard_tools_quarantined', { server: 'fs' }) ?? 0).toBe(0);
  });

  it('a lock deleted while running is refused too ("missing"): the last lock stays in force', async () => {
    const generation = gw.gateway.contracts.generation;
    rmSync(ws.lockFile);
    await eventually(
      () => gw.gateway.contracts.stale?.reason,
      (reason) => reason === 'missing',
    );
    expect((await readyz(gw.url)).contracts).toMatchObject({ generation, quarantined: [], stale: { reason: 'missing' } });
    expect(await toolNames(client)).toEqual(['fs__exec', 'fs__list_dir', 'fs__read_file', 'fs__stat', 'fs__write_file']);
  });
});
