// The cost of one policy decision with 100 rules, per call, in microseconds.
// Runs the compiled engine (dist/) as the gateway does; medians of several rounds.
import { performance } from 'node:perf_hooks';
import { PolicyEngine } from '../dist/policy/engine.js';
import { parsePolicyText } from '../dist/policy/load.js';

const ROUNDS = 5;
const ITERATIONS = 100_000;

/**
 * 100 rules over `servers` servers: globs, scopes, CEL conditions, as a real policy set mixes them.
 * `serverName(k)` names server k (bench/e2e.mjs points them at a real upstream).
 */
export function hundredRules(servers, serverName = (k) => `srv${k}`) {
  const rules = [];
  for (let i = 0; i < 100; i++) {
    const server = serverName(i % servers);
    const kind = i % 4;
    if (kind === 0) rules.push({ id: `deny-${i}`, match: { servers: [server], tools: [`delete_${i}*`] }, effect: 'deny' });
    if (kind === 1) rules.push({ id: `scope-${i}`, match: { servers: [server], tools: [`write_${i}_*`] }, effect: 'require', scopes: [`w${i}`] });
    if (kind === 2) rules.push({ id: `cel-${i}`, match: { servers: [server] }, when: `'g${i}' in principal.groups && args.size() > 3`, effect: 'deny' });
    if (kind === 3)
      rules.push({
        id: `allow-${i}`,
        match: { servers: [server], tools: ['read_*', 'list_*'] },
        when: `principal.id.startsWith('apikey:user')`,
        effect: 'allow',
      });
  }
  return { rules, servers: { [serverName(0)]: { rateLimit: [{ limit: 1000, per: 'minute' }] } } };
}

function yamlOf(value) {
  return JSON.stringify(value); // JSON is YAML
}

function input(i, servers) {
  return {
    principal: { id: `apikey:user${i % 50}`, kind: 'apikey', subject: `user${i % 50}`, scopes: ['w1'], groups: ['g2'], claims: {} },
    method: 'tools/call',
    server: { name: `srv${i % servers}`, transport: 'stdio' },
    tool: { name: i % 2 ? 'read_file' : 'write_1_x', annotations: {} },
    args: { path: '/tmp/x' },
    request: { time: new Date(), transport: 'streamable-http', sessionId: 's' },
  };
}

function measure(engine, inputs) {
  let allowed = 0;
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) if (engine.decide(inputs[i % inputs.length]).allowed) allowed++;
  const perCallUs = ((performance.now() - start) * 1000) / ITERATIONS;
  return { perCallUs, allowed };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runPolicyBench() {
  const spread = parsePolicyText(yamlOf(hundredRules(10)), 'bench/100-rules.yaml');
  const engine = new PolicyEngine(spread, { defaultEffect: 'allow' });
  // The worst case: every rule names the server being called.
  const oneServer = new PolicyEngine(parsePolicyText(yamlOf(hundredRules(1)), 'bench/100-rules-1.yaml'), { defaultEffect: 'allow' });
  const empty = new PolicyEngine(parsePolicyText('{}', 'bench/empty.yaml'), { defaultEffect: 'allow' });
  const inputs = Array.from({ length: 64 }, (_, i) => input(i, 10));
  const oneServerInputs = Array.from({ length: 64 }, (_, i) => input(i, 1));
  measure(engine, inputs); // warm-up: JIT and CEL context shapes
  measure(oneServer, oneServerInputs);
  const rounds = { empty: [], hundred: [], oneServer: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.empty.push(measure(empty, inputs).perCallUs);
    rounds.hundred.push(measure(engine, inputs).perCallUs);
    rounds.oneServer.push(measure(oneServer, oneServerInputs).perCallUs);
  }
  return {
    name: 'policy decision',
    rules: spread.rules.length,
    emptyPerCallUs: median(rounds.empty),
    hundredRulesPerCallUs: median(rounds.hundred),
    hundredRulesOneServerPerCallUs: median(rounds.oneServer),
    targetUs: 20,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runPolicyBench();
  console.log(
    `policy decision: ${r.hundredRulesPerCallUs.toFixed(2)} µs/call with ${r.rules} rules (empty set ${r.emptyPerCallUs.toFixed(2)} µs; target ≤ ${r.targetUs} µs)`,
  );
}
