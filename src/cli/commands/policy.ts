/**
 * `switchboard policy test` and `switchboard policy explain`: policies are
 * code, so they are tested and their decisions explained without serving.
 * `explain` reads one server's tool names only when the lock does not list
 * the tool (explain-names.ts); `test --min-coverage` and `coverage`
 * (policy-coverage.ts) read the upstreams' catalog.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../../config/schema/index.js';
import { ConfigError } from '../../core/errors.js';
import { createPolicyEngine, knownNames } from '../../app/policy-runtime.js';
import { ANONYMOUS } from '../../core/principal.js';
import { principalFromInput, type PrincipalInput } from '../../core/principal-input.js';
import { explainArguments, explainContract } from '../../contracts/explain.js';
import { approverText } from '../../policy/tests-runner.js';
import { readLock } from '../../contracts/lock.js';
import { coveragePercent } from '../../policy/coverage.js';
import { loadPolicyTests, runPolicyTests } from '../../policy/tests-runner.js';
import type { DecisionInput, Principal } from '../../policy/types.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { checkServed, splitExposed } from './explain-names.js';
import { coverageReport, policyCoverage } from './policy-coverage.js';
import { SETTLE_MS } from './serve.js';

export async function policyCommand(args: ParsedArgs): Promise<number> {
  const sub = args.positionals[0];
  if (sub === 'test') return policyTestWithCoverage(loadConfigFromFlag(args.flags.config), args);
  if (sub === 'explain') return policyExplain(args);
  if (sub === 'coverage') return policyCoverage(loadConfigFromFlag(args.flags.config), args);
  throw new UsageError(
    sub === undefined ? "expected 'test', 'explain' or 'coverage'" : `unknown subcommand '${sub}' (expected 'test', 'explain' or 'coverage')`,
    'policy',
  );
}

/** `policy test [--min-coverage N]`: the cases, then (if asked) the share of catalog entries some rule matches. */
async function policyTestWithCoverage(config: LoadedConfig, args: ParsedArgs): Promise<number> {
  const min = stringFlag(args, 'min-coverage');
  const threshold = min === undefined ? undefined : Number(min);
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 100))
    throw new UsageError(`--min-coverage must be a percentage from 0 to 100 (got '${min}')`, 'policy test');
  const failed = policyTest(config);
  if (threshold === undefined) return failed;
  const percent = coveragePercent(await coverageReport(config, [], { settleMs: SETTLE_MS }));
  const below = percent < threshold;
  process.stdout.write(
    `coverage: ${percent.toFixed(1)}% of catalog entries matched by a rule (minimum ${threshold}%)${below ? ': too low; see `switchboard policy coverage`' : ''}\n`,
  );
  return failed || (below ? 1 : 0);
}

/** Runs every policies/*.tests.yaml; exit 1 if a case fails or there is none. */
function policyTest(config: LoadedConfig): number {
  const engine = createPolicyEngine(config);
  const suites = loadPolicyTests(config.gateway.policies);
  const results = runPolicyTests(engine, suites, knownNames(config));
  for (const r of results) {
    const where = path.relative(process.cwd(), r.file) || r.file;
    process.stdout.write(`${r.passed ? 'ok  ' : 'FAIL'} ${where}: ${r.name}\n`);
    for (const line of r.diff) process.stdout.write(`       ${line}\n`);
  }
  const failed = results.filter((r) => !r.passed).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 || results.length === 0 ? 1 : 0;
}

/** Decides one call as the gateway would, and prints every rule that was looked at. */
async function policyExplain(args: ParsedArgs): Promise<number> {
  const call = stringFlag(args, 'call');
  if (!call) throw new UsageError('--call server__tool is required', 'policy explain');
  const config = loadConfigFromFlag(args.flags.config);
  const principal = args.flags.principal ? readPrincipal(stringFlag(args, 'principal')!, config.gateway.auth.jwt?.issuer) : ANONYMOUS;
  const callArgs = args.flags.args ? (readJson(stringFlag(args, 'args')!) as Record<string, unknown>) : {};
  const { server, tool } = splitExposed(config, call);
  const lock = server.pinning.mode === 'off' ? undefined : readLock(config.gateway.pinning.lock);
  await checkServed(config, server, tool, lock, SETTLE_MS);
  // The contract steps come first, as in the pipeline: a quarantined tool or invalid arguments never reach policy.
  const contract = explainContract(lock, server.pinning, server.name, tool);
  const argumentsStep = explainArguments(lock, server.name, tool, callArgs, config.gateway.validateArguments);
  const engine = createPolicyEngine(config);
  const input: DecisionInput = {
    principal,
    method: 'tools/call',
    server: { name: server.name, transport: server.spec.type },
    tool: { name: tool, annotations: contract.annotations ?? {} },
    args: callArgs,
    request: { time: new Date(), transport: 'explain', sessionId: 'explain' },
  };
  const { shadow, ...decision } = engine.decide(input, { explain: true });
  const limits = engine.rateLimitsFor(input);
  const explained = {
    input: { ...input, request: { ...input.request, time: input.request.time.toISOString() } },
    contract,
    arguments: argumentsStep,
    decision,
    // Apart from the decision: shadow rules (mode: shadow) decide nothing.
    ...(shadow ? { shadow } : {}),
    rateLimits: limits,
  };
  process.stdout.write(`${JSON.stringify(explained, null, 2)}\n`);
  if (contract.quarantined)
    process.stderr.write(
      `QUARANTINED: ${call} is not in the lock (${config.gateway.pinning.lock}); approve it with \`switchboard pin approve ${server.name}${config.gateway.separator}${tool}\`\n`,
    );
  else if (argumentsStep.refused)
    process.stderr.write(`INVALID ARGUMENTS: ${argumentsStep.problems.map((p) => `${p.path || '(arguments)'} ${p.message}`).join('; ')}\n`);
  else {
    const verdict = !decision.allowed ? 'DENY' : decision.approval ? 'APPROVAL REQUIRED' : 'ALLOW';
    process.stderr.write(`${verdict}${decision.ruleId ? ` by ${decision.ruleId}` : ' (default)'}: ${decision.reason}\n`);
    if (decision.approval)
      process.stderr.write(
        `APPROVERS: ${decision.approval.approvers.map(approverText).join(', ')}; timeout ${decision.approval.timeoutMs / 1000} s${decision.approval.message ? `; message: ${decision.approval.message}` : ''}\n`,
      );
    const would = shadow?.would;
    if (would) process.stderr.write(`SHADOW: would ${would.allowed ? 'ALLOW' : 'DENY'}${would.ruleId ? ` by ${would.ruleId}` : ' (default)'}\n`);
    else if (shadow && shadow.rules.length > 0)
      process.stderr.write(`SHADOW: no change (${shadow.rules.map((r) => `${r.ruleId}: ${r.outcome}`).join(', ')})\n`);
  }
  return 0;
}

/**
 * `{"kind": "apikey", "id": "ci-bot", …}`, or a namespaced id alone
 * (`{"id": "apikey:ci-bot"}`); see auth/principal-input.ts. A JWT principal
 * without "issuer" gets the configured one.
 */
function readPrincipal(file: string, issuer: string | undefined): Principal {
  const raw = readJson(file) as PrincipalInput;
  const example = 'write {"kind": "apikey", "id": "ci-bot", "scopes": [], "groups": []}';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError([{ file, path: '', message: 'a principal is a JSON object', fix: example }]);
  for (const key of ['kind', 'id', 'issuer'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string')
      throw new ConfigError([{ file, path: key, message: `"${key}" must be a string`, fix: example }]);
  }
  if (raw.kind === undefined && raw.id === undefined)
    throw new ConfigError([{ file, path: 'id', message: 'a principal needs "kind" and "id", or a namespaced "id"', fix: example }]);
  const who = principalFromInput(raw, issuer);
  if (!who.ok) throw new ConfigError([{ file, path: who.key, message: who.message, fix: who.fix }]);
  return who.principal;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `cannot read JSON: ${(err as Error).message}` }]);
  }
}

function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === 'string' ? value : undefined;
}
