/**
 * The console's policy playground: a candidate rule set, written in the page,
 * decided against a request composed there and replayed over the recent
 * recorded decisions, beside the policy in force. Nothing is applied: a
 * policy changes by a reviewed file change only.
 */
import type { LoadedConfig } from '../config/schema/index.js';
import { ConfigError } from '../core/errors.js';
import { principalFromInput, type PrincipalInput } from '../core/principal-input.js';
import { PolicyEngine } from '../policy/engine.js';
import { parsePolicyText } from '../policy/load.js';
import { AuditReplay } from '../policy/replay.js';
import type { DecisionInput } from '../policy/types.js';
import { replayServers } from './replay-servers.js';

export interface PlaygroundRequest {
  principal?: PrincipalInput;
  server: string;
  tool: string;
  args?: Record<string, unknown>;
}

export interface PlaygroundBody {
  policy: string;
  request?: PlaygroundRequest;
}

/** Refused input (a candidate that does not load, a request that names no server): 400 with this message. */
export class PlaygroundError extends Error {}

export function playground(config: () => LoadedConfig, current: () => PolicyEngine) {
  return (body: PlaygroundBody, recent: readonly string[]) => {
    if (typeof body?.policy !== 'string') throw new PlaygroundError('send { "policy": "<a policy file, YAML>", "request"?: { … } }');
    const cfg = config();
    let set: ReturnType<typeof parsePolicyText>;
    try {
      set = parsePolicyText(body.policy, 'playground.yaml');
    } catch (err) {
      throw new PlaygroundError(err instanceof ConfigError ? err.message : String(err));
    }
    const options = { defaultEffect: cfg.gateway.defaultEffect, trustedServers: cfg.servers.filter((s) => s.trustAnnotations).map((s) => s.name) };
    const candidate = new PolicyEngine(set, options);
    const input = body.request ? decisionInput(cfg, body.request) : undefined;
    const replay = new AuditReplay({ set, ...options, servers: replayServers(cfg) });
    recent.forEach((line, i) => replay.line('recent decisions', i + 1, line));
    return {
      ...(input ? { decision: { current: current().decide(input, { explain: true }), candidate: candidate.decide(input, { explain: true }) } } : {}),
      recent: replay.report(),
      warnings: set.warnings ?? [],
    };
  };
}

function decisionInput(config: LoadedConfig, request: PlaygroundRequest): DecisionInput {
  const server = config.servers.find((s) => s.name === request.server);
  if (!server) throw new PlaygroundError(`no server named "${String(request.server)}"`);
  if (typeof request.tool !== 'string' || request.tool === '') throw new PlaygroundError('name the tool (its upstream name)');
  const who = principalFromInput(request.principal ?? {}, config.gateway.auth.jwt?.issuer);
  if (!who.ok) throw new PlaygroundError(`principal.${who.key}: ${who.message}`);
  return {
    principal: who.principal,
    method: 'tools/call',
    server: { name: server.name, transport: server.spec.type },
    tool: { name: request.tool, annotations: {} },
    args: request.args ?? {},
    request: { time: new Date(), transport: 'console', sessionId: 'playground' },
  };
}
