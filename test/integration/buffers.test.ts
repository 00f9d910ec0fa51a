/**
 * Hostile upstreams, against the in-process gateway with real clients
 * (test/fixtures/servers/hostile.mjs upstream):
 *
 * - (a) 40 MB of stderr without a newline: the gateway holds a capped piece
 *   of the line, counts the cut, and serves other clients meanwhile;
 * - (c) 2,000 tools/list_changed in a burst: a couple of re-lists, not 2,000.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioUpstreamTransport } from '../../src/upstream/stdio.js';
import { MAX_STDERR_LINE_CHARS } from '../../src/upstream/stderr-lines.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const HOSTILE = path.join(FIXTURES, 'hostile.mjs');

interface Stats {
  toolsListCalls: number;
  logsSent: number;
  progressSent: number;
  cancelled: number;
}

let gw: RunningGateway;
let client: Client;
let other: Client;

beforeAll(async () => {
  gw = await startGateway({ mcpServers: { hostile: nodeServer(HOSTILE), calm: nodeServer(HOSTILE, ['--name', 'calm']) } });
  [client, other] = await Promise.all([connectLegacy(gw.mcpUrl), connectLegacy(gw.mcpUrl)]);
});

afterAll(async () => {
  await Promise.allSettled([client?.close(), other?.close()]);
  await gw?.close();
});

const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]!.text);
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => textOf(await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }));
const stats = async (server = 'hostile'): Promise<Stats> => JSON.parse(await call(other, `${server}__stats`)) as Stats;

/** The stdio transport of an upstream's shared connection (its bounded stderr state is public). */
function stdioOf(name: string): StdioUpstreamTransport {
  const upstream = gw.gateway.upstreams.find((u) => u.name === name)!;
  return (upstream as unknown as { connected: { transport: StdioUpstreamTransport } }).connected.transport;
}

/** Sum of one counter's samples whose labels include `labels`. */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Calls `calm__echo` from the other client until `done` settles; how many answered. */
async function servedMeanwhile(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let answered = 0;
  while (!finished) {
    expect(await call(other, 'calm__echo', { text: `n${answered}` })).toBe(`n${answered}`);
    answered++;
  }
  return answered;
}

describe('(a) an upstream flooding stderr', () => {
  it('holds a capped piece of a 40 MB line without a newline, counts the cut, and keeps serving others', async () => {
    const before = await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' });
    const flood = call(client, 'hostile__stderr_flood', { megabytes: 40, separator: 'none' });
    const answered = await servedMeanwhile(flood);
    expect(await flood).toBe(`flooded ${40 * 1024 * 1024}`);
    expect(answered).toBeGreaterThan(0);
    const state = stdioOf('hostile').stderrState;
    expect(state.partialChars).toBeLessThanOrEqual(MAX_STDERR_LINE_CHARS);
    expect(state.truncatedLines).toBeGreaterThanOrEqual(1);
    expect(await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' })).toBe(before + 1);
  }, 90_000);

  it('takes \\r as a line end: a progress bar leaves nothing pending and its last redraw in the tail', async () => {
    expect(await call(client, 'hostile__stderr_flood', { megabytes: 2, separator: 'cr' })).toBe(`flooded ${2 * 1024 * 1024}`);
    // The chunk that ends the flood may still be on its way through the pipe when the answer arrives.
    const transport = await eventually(() => stdioOf('hostile'), (t) => t.stderrState.partialChars < 100);
    expect(transport.recentStderr.split('\n').at(-1)).toMatch(/^downloading layer \d+: #*$/);
  });
});

describe('(c) a burst of list_changed', () => {
  it('re-lists a couple of times for 2,000 tools/list_changed, not 2,000', async () => {
    const upstream = gw.gateway.upstreams.find((u) => u.name === 'hostile')!;
    let refreshed = 0;
    const onLists = () => void refreshed++;
    upstream.on('lists', onLists);
    const before = (await stats()).toolsListCalls;
    expect(await call(client, 'hostile__list_changed_burst', { count: 2_000 })).toBe('sent 2000');
    // Settled: a refresh happened, and two readings in a row agree (the one queued behind it has run too).
    let last = -1;
    const settled = await eventually(
      async () => {
        const seen = last;
        last = (await stats()).toolsListCalls - before;
        return { seen, now: last };
      },
      ({ seen, now }) => now >= 1 && now === seen && refreshed === now,
    );
    upstream.off('lists', onLists);
    console.log(`[buffers] 2,000 list_changed → ${settled.now} re-lists`);
    // One in flight and one queued at a time, each 25 ms after it was asked for: 1-2 for a burst the gateway reads in
    // well under 50 ms, one more on a machine slow enough to take longer.
    expect(settled.now).toBeLessThanOrEqual(3);
    expect(gw.gateway.catalog.resolveTool('hostile__stats')).toBeDefined();
  });
});
