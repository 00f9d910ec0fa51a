// Large catalogs: tools/list bytes and latency, full vs disclosure "search", over
// 50 upstreams x 20 tools; and find_tools ranking latency over ~1,000 tools.
// Everything runs against the compiled gateway (dist/) on loopback.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGateway } from '../dist/app/gateway.js';
import { ToolIndex } from '../dist/catalog/search.js';
import { parseConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/observability/log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A keep-alive JSON-RPC POST; returns the parsed message and the body size. */
function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: AGENT, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const data = text.startsWith('{') ? text : (text.split('\n').find((l) => l.startsWith('data: ')) ?? 'data: {}').slice(6);
          resolve({ message: JSON.parse(data || '{}'), bytes: Buffer.byteLength(data), session: res.headers['mcp-session-id'] });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
const AGENT = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 4 });

async function openSession(url) {
  const init = await post(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  });
  const headers = { 'mcp-session-id': init.session, 'mcp-protocol-version': '2025-11-25' };
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  return headers;
}

/** Every page of tools/list: total bytes and wall time. */
async function listAll(url, headers) {
  let bytes = 0;
  let cursor;
  const start = performance.now();
  do {
    const { message, bytes: b } = await post(url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: cursor ? { cursor } : {} }, headers);
    bytes += b;
    cursor = message.result?.nextCursor;
  } while (cursor);
  return { bytes, ms: performance.now() - start };
}

export async function runDisclosureBench() {
  // find_tools ranking over the ~1,000-tool fixture catalog.
  const tools = JSON.parse(readFileSync(path.join(root, 'test/fixtures/catalogs/large.json'), 'utf8'));
  const buildStart = performance.now();
  const index = new ToolIndex(tools);
  const buildMs = performance.now() - buildStart;
  const queries = [
    'open a new ticket in jira',
    'list the files in a folder',
    'send a message to a slack channel',
    'create a pull request',
    'refund a payment',
    'query the database',
    'schedule a meeting',
    'read a file',
  ];
  for (let i = 0; i < 200; i++) index.search(queries[i % queries.length]);
  const searchUs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < 2_000; i++) index.search(queries[i % queries.length], { limit: 5 });
    searchUs.push(((performance.now() - start) * 1000) / 2_000);
  }

  // tools/list through the gateway: 50 upstreams x (16 + 20) tools, full vs search.
  const { startHttpFixture } = await import(path.join(root, 'test/fixtures/servers/http.mjs'));
  const fixtures = await Promise.all(Array.from({ length: 50 }, (_, i) => startHttpFixture({ mode: 'modern', extraTools: 20, name: `s${i}` })));
  const mcpServers = Object.fromEntries(fixtures.map((f, i) => [`s${i}`, { type: 'http', url: f.url }]));
  const config = parseConfig(
    {
      mcpServers,
      gateway: {
        policies: path.join(root, 'bench/.no-policies'),
        profiles: { search: { servers: Object.keys(mcpServers), disclosure: 'search' } },
        audit: { file: '/dev/null' },
      },
    },
    '<bench>',
    {},
  );
  const gateway = createGateway(config, createLogger({ level: 'error' }));
  gateway.start();
  await gateway.settled(60_000);
  const { url } = await gateway.listen('127.0.0.1', 0);
  try {
    const fullHeaders = await openSession(`${url}/mcp`);
    const searchHeaders = await openSession(`${url}/mcp/search`);
    const full = [];
    const search = [];
    let fullBytes = 0;
    let searchBytes = 0;
    for (let r = 0; r < ROUNDS * 4; r++) {
      const f = await listAll(`${url}/mcp`, fullHeaders);
      const s = await listAll(`${url}/mcp/search`, searchHeaders);
      full.push(f.ms);
      search.push(s.ms);
      fullBytes = f.bytes;
      searchBytes = s.bytes;
    }
    return {
      name: 'large catalogs',
      tools: gateway.catalog.listTools().length,
      fullListMs: median(full),
      searchListMs: median(search),
      fullListBytes: fullBytes,
      searchListBytes: searchBytes,
      findToolsUs: median(searchUs),
      findToolsCatalog: index.size,
      indexBuildMs: buildMs,
    };
  } finally {
    await gateway.stop();
    await Promise.allSettled(fixtures.map((f) => f.close()));
    AGENT.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runDisclosureBench();
  console.log(
    `tools/list over ${r.tools} tools: full ${r.fullListBytes} B in ${r.fullListMs.toFixed(2)} ms; search ${r.searchListBytes} B in ${r.searchListMs.toFixed(2)} ms (${(r.fullListBytes / r.searchListBytes).toFixed(0)}x smaller)`,
  );
  console.log(`find_tools over ${r.findToolsCatalog} tools: ${r.findToolsUs.toFixed(1)} µs per query (index built in ${r.indexBuildMs.toFixed(1)} ms)`);
}
