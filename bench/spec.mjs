// The per-request work the 2026-07-28 features add (in-process, dist/):
// SEP-2243 Mcp-Param-* headers (the inbound check against the body and the
// outbound headers built from the upstream's tool) on a tool that declares one,
// over a tool that declares none; and a list's SEP-2549 cache hint over 10
// upstreams (the policy's per-list answer kept). Medians of several rounds.
import { performance } from 'node:perf_hooks';
import { paramHeaderMismatch } from '../dist/http/param-headers.js';
import { PolicyEngine } from '../dist/policy/engine.js';
import { parsePolicyText } from '../dist/policy/load.js';
import { listHint } from '../dist/session/cache-hints.js';
import { paramHeaders } from '../dist/upstream/param-headers.js';

const ROUNDS = 5;
const ITERATIONS = 100_000;

const PLAIN = { type: 'object', properties: { region: { type: 'string' }, text: { type: 'string' } }, required: ['region', 'text'] };
const DECLARED = { ...PLAIN, properties: { ...PLAIN.properties, region: { type: 'string', 'x-mcp-header': 'Region' } } };

function headersRound(schema) {
  const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'rec__regional', arguments: { region: 'eu-west', text: 'hello' } } };
  const headers = { 'mcp-param-region': 'eu-west' };
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    if (paramHeaderMismatch(body, headers, () => schema)) throw new Error('unexpected mismatch');
    paramHeaders(schema, body.params.arguments);
  }
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

function hintRound() {
  const upstreams = Array.from({ length: 10 }, (_, i) => ({
    name: `s${i}`,
    state: 'ready',
    perCaller: false,
    lists: { hints: { tools: { ttlMs: 10_000 + i, cacheScope: 'public' } } },
  }));
  const rules = Array.from({ length: 100 }, (_, i) => `  - { id: r${i}, match: { servers: [other${i % 10}], tools: [t${i}] }, effect: deny }`).join('\n');
  const policy = new PolicyEngine(parsePolicyText(`rules:\n${rules}\n`, 'bench.yaml'), { defaultEffect: 'allow' });
  const who = { principal: { id: 'apikey:a' }, session: { id: 's', era: 'modern' }, view: { disclosure: 'full', hasServer: () => true } };
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) listHint('tools', upstreams, who, policy, false);
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runSpecBench() {
  const rounds = { plain: [], declared: [], hint: [] };
  headersRound(PLAIN);
  headersRound(DECLARED);
  hintRound();
  for (let r = 0; r < ROUNDS; r++) {
    rounds.plain.push(headersRound(PLAIN));
    rounds.declared.push(headersRound(DECLARED));
    rounds.hint.push(hintRound());
  }
  const plainUs = median(rounds.plain);
  const declaredUs = median(rounds.declared);
  return { paramHeadersPlainUs: plainUs, paramHeadersDeclaredUs: declaredUs, paramHeadersAddedUs: declaredUs - plainUs, listHintUs: median(rounds.hint) };
}
