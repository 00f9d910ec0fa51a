// The gateway as the client under test, for the conformance suite's client
// scenarios: `conformance client --command "node conformance/gateway-client.mjs"`
// appends the test server's URL and sets MCP_CONFORMANCE_SCENARIO. The gateway
// (this repository's build) connects to that server as its only upstream,
// mounted with prefix "" so names are unchanged; a downstream SDK client then
// does what the scenario asks of "the client", through the gateway. What the
// suite checks is what the gateway sent upstream.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createGateway } from '../dist/app/gateway.js';
import { parseConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/observability/log.js';

const url = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const policies = mkdtempSync(path.join(os.tmpdir(), 'switchboard-client-scenario-'));
const config = parseConfig(
  { mcpServers: { upstream: { type: 'http', url } }, gateway: { servers: { upstream: { prefix: '' } }, policies, audit: { file: '-' } } },
  path.join(policies, 'inline.json'),
  process.env,
);
const log = createLogger({ level: 'info' });
const gateway = createGateway(config, log);
gateway.start();
await gateway.settled(15_000);
const { url: base } = await gateway.listen('127.0.0.1', 0);

// The downstream client: applies elicitation defaults (SEP-1034) and accepts.
const client = new Client({ name: 'switchboard-conformance-driver', version: '1.0.0' }, { capabilities: { elicitation: { form: { applyDefaults: true } }, sampling: {} } });
client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: {} }));
client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'driver', content: { type: 'text', text: 'ok' } }));
await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));

const CALLS = {
  tools_call: ['add_numbers', { a: 5, b: 3 }],
  'elicitation-sep1034-client-defaults': ['test_client_elicitation_defaults', {}],
  'sse-retry': ['test_reconnection', {}],
};
let status = 0;
try {
  const tools = (await client.listTools()).tools.map((t) => t.name);
  log.info('driver: upstream tools through the gateway', { scenario, tools });
  const call = CALLS[scenario];
  if (call) {
    const result = await client.callTool({ name: call[0], arguments: call[1] });
    log.info('driver: call result', { tool: call[0], result });
  }
} catch (error) {
  log.error('driver: scenario failed', { scenario, error: error instanceof Error ? error.message : String(error) });
  status = 1;
} finally {
  await client.close().catch(() => {});
  await gateway.stop();
}
process.exit(status);
