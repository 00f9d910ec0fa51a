/**
 * The policy file (`policies/*.yaml`) and policy tests file (`*.tests.yaml`)
 * schemas: the single source of truth for their shape; the JSON Schema in
 * `schema/policy.schema.json` is generated from it. Every object is strict: an
 * unknown key is a typo until proven otherwise. Imports nothing but zod (the
 * schema generator transpiles this file on its own).
 */
import { z } from 'zod';

/** Rule ids appear in errors, audit records and metrics labels. */
export const RULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

const Globs = z.array(z.string().min(1)).min(1).describe('Globs: "*" is any run of characters, "?" one character. Omit the key to match anything.');

const Cel = (what: string) => z.string().min(1).describe(`CEL expression (${what}).`);

export const RateLimitSchema = z
  .strictObject({
    limit: z.int().positive().describe('Tokens per period (the bucket capacity).'),
    per: z.enum(['second', 'minute', 'hour', 'day']),
    key: Cel('string').optional().describe("CEL string expression; default principal.id + '/' + server.name."),
  })
  .describe('A token bucket: `limit` calls per `per`, refilled continuously.');

const RateLimits = z.array(RateLimitSchema).min(1);

export const MatchSchema = z
  .strictObject({
    servers: Globs.optional().describe('Configured server names.'),
    tools: Globs.optional().describe("The upstream's original tool names; the rule then applies to tools/call (and tool lists) only."),
    prompts: Globs.optional().describe('Original prompt names; the rule then applies to prompts/get (and prompt lists) only.'),
    resources: Globs.optional().describe(
      'Original resource URIs (or URI templates); the rule then applies to resources/read|subscribe|unsubscribe (and resource lists) only.',
    ),
    methods: Globs.optional().describe('MCP method names, e.g. "tools/call", "resources/*".'),
  })
  .describe('What the rule is about; every key given must match. Lists are filtered by the same rules.');

/** `90s`, `5m`, `1h`: how long something lasts. */
export const DURATION_PATTERN = /^[1-9][0-9]*(ms|s|m|h|d)$/;
const Duration = z.string().regex(DURATION_PATTERN, { error: 'a duration such as "30s", "5m" or "1h"' });

const ApproverSpec = z
  .string()
  .regex(/^(self|group:.+|principal:.+)$/, { error: 'an approver is "self", "group:<name>" or "principal:<id>"' })
  .describe('self: the caller confirms in their client; group:<name>: a member of the group; principal:<id>: that principal.');

export const RuleSchema = z.strictObject({
  id: z
    .string()
    .regex(RULE_ID_PATTERN, { error: 'a rule id may contain letters, digits, "_", ".", ":" and "-"' })
    .describe('Unique across all policy files; shown in errors, audit records and metrics.'),
  description: z.string().optional().describe('Why the rule exists; shown to callers it denies.'),
  match: MatchSchema.optional(),
  when: Cel('bool').optional().describe('The rule applies only when this is true.'),
  effect: z
    .enum(['allow', 'deny', 'require', 'approve'])
    .describe('approve: allowed once a person approves this exact call (deny and require still win; approve wins over allow).'),
  approvers: z
    .union([ApproverSpec, z.array(ApproverSpec).min(1)])
    .optional()
    .describe('approve: who may approve (any one of them). Nobody approves their own call unless the approver is "self".'),
  timeout: Duration.optional().describe('approve: how long the call waits for a decision (default 5m), then fails with APPROVAL_TIMEOUT.'),
  message: Cel('string').optional().describe("approve: what the approver is shown, e.g. 'Delete ' + string(args.path) + '?'."),
  remember: z
    .union([z.enum(['none', 'session']), Duration])
    .optional()
    .describe('approve: whether a yes covers identical calls (same arguments): none (default), for the session, or for a duration.'),
  scopes: z.array(z.string().min(1)).min(1).optional().describe('require: all must be in principal.scopes.'),
  condition: Cel('bool').optional().describe('require: must be true.'),
  rateLimit: RateLimits.optional().describe('Limits that apply when the rule matches and the request is allowed (not on a shadow rule).'),
  mode: z
    .enum(['enforce', 'shadow'])
    .optional()
    .describe('enforce (default): the rule decides. shadow: evaluated on every request and reported (audit, metrics, explain), never enforced.'),
});

export const ServerPolicySchema = z.strictObject({
  mode: z.enum(['allowlist', 'denylist']).optional().describe('allowlist: what no rule allows is denied; denylist: allowed. Unset: the gateway defaultEffect.'),
  readOnly: z.boolean().optional().describe('Only read-only tools may be called; resources and prompts are reads.'),
  readOnlyTools: Globs.optional().describe('Tools this policy declares read-only.'),
  trustAnnotations: z.boolean().optional().describe("Believe the server's readOnlyHint tool annotations."),
  allowTools: Globs.optional().describe('Shorthand for an allow rule on these tools (rule id servers.<name>.allowTools).'),
  denyTools: Globs.optional().describe('Shorthand for a deny rule on these tools (rule id servers.<name>.denyTools).'),
  rateLimit: RateLimits.optional().describe('Limits on every allowed request to this server.'),
});

export const GroupPolicySchema = z.strictObject({
  readOnly: z.boolean().optional().describe('Principals in this group may call only read-only tools.'),
  servers: Globs.optional().describe('Where readOnly applies (default: every server).'),
});

export const PolicyFileSchema = z
  .strictObject({
    description: z.string().optional(),
    rules: z.array(RuleSchema).optional(),
    servers: z.record(z.string().min(1), ServerPolicySchema).optional().describe('Keyed by configured server name.'),
    groups: z.record(z.string().min(1), GroupPolicySchema).optional().describe('Keyed by principal group.'),
  })
  .describe('A Switchboard policy file (policies/*.yaml).');

const TestPrincipalSchema = z.strictObject({
  kind: z.enum(['apikey', 'jwt', 'stdio', 'anonymous']).optional().describe('With a kind, id is un-namespaced (the key id, the JWT id claim, the stdio id).'),
  id: z.string().min(1).optional().describe('Namespaced without kind (apikey:ci-bot, jwt:<issuer>#<sub>, stdio:local, anonymous). Default apikey:test.'),
  issuer: z.string().min(1).optional().describe('kind jwt: the token issuer (gateway.auth.jwt.issuer).'),
  scopes: z.array(z.string()).optional(),
  groups: z.array(z.string()).optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
});

const TestRequestSchema = z.strictObject({
  method: z.string().min(1).optional().describe('Default "tools/call".'),
  server: z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), transport: z.enum(['stdio', 'http', 'sse']).optional() })]),
  tool: z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), annotations: z.record(z.string(), z.unknown()).optional() })]).optional(),
  resource: z.union([z.string().min(1), z.strictObject({ uri: z.string().min(1) })]).optional(),
  prompt: z.union([z.string().min(1), z.strictObject({ name: z.string().min(1) })]).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  listing: z.boolean().optional().describe('Decide as for a list entry (args unknown).'),
  time: z.string().optional().describe('ISO 8601; default 2026-01-01T00:00:00Z.'),
  transport: z.string().optional().describe('request.transport; default "stdio".'),
  sessionId: z.string().optional(),
  profile: z.string().optional(),
});

const TestEffect = z.enum(['allow', 'deny', 'approval-required']).describe('approval-required: an approve rule decides (allowed once approved).');

const ExpectationSchema = z.strictObject({
  effect: TestEffect,
  approvers: z.array(ApproverSpec).optional().describe('approval-required: who may approve, as the rule names them.'),
  ruleId: z.string().min(1).optional(),
  code: z.enum(['POLICY_DENIED', 'INSUFFICIENT_SCOPE']).optional(),
});

export const PolicyTestsFileSchema = z
  .strictObject({
    description: z.string().optional(),
    cases: z.array(
      z.strictObject({
        name: z.string().min(1),
        principal: TestPrincipalSchema.optional(),
        request: TestRequestSchema,
        expect: ExpectationSchema.extend({
          shadow: z
            .union([TestEffect, ExpectationSchema])
            .optional()
            .describe('The decision with the shadow rules enforced (mode: shadow): an effect, or { effect, ruleId, code }.'),
        }),
      }),
    ),
  })
  .describe('Switchboard policy tests (policies/*.tests.yaml).');

export type PolicyFile = z.output<typeof PolicyFileSchema>;
export type RuleInput = z.output<typeof RuleSchema>;
export type ServerPolicyInput = z.output<typeof ServerPolicySchema>;
export type PolicyTestsFile = z.output<typeof PolicyTestsFileSchema>;

/** The JSON Schema for editors (policy files), as committed in `schema/policy.schema.json`. */
export function policyJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(PolicyFileSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, title: 'Switchboard policy file', ...rest };
}
