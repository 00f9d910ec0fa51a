/**
 * The audit trail's record types, as zod schemas: the single source of truth
 * for the TypeScript types and for schema/audit-record.schema.json
 * (`npm run schema`). Every line of an audit file is one of these, and each
 * carries the chain fields (writer, seq, prev, hash) that make the file
 * tamper-evident. (Imports nothing but zod: the generator transpiles it alone.)
 */
import { z } from 'zod';

const Hash = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** Added to every line when it is written: the per-writer hash chain. */
export const ChainFields = {
  writer: z.string().describe('Who wrote the chain: the replica id (or host) and the moment it started, "<replica>@<ISO time>".'),
  seq: z.int().min(0).describe("This line's position in its writer's chain, from 0 (the audit-start line)."),
  prev: Hash.nullable().describe("The previous line's hash; null for seq 0."),
  hash: Hash.describe('SHA-256 of this line\'s JCS (RFC 8785) form without "hash" (and without "signature" on a checkpoint).'),
};

const Problem = z.strictObject({ path: z.string(), message: z.string() });

export const AuditRecordSchema = z
  .strictObject({
    type: z.literal('audit'),
    time: z.string().describe('ISO 8601, when the request finished.'),
    requestId: z.string().optional().describe("The same id as the request's log lines."),
    traceId: z.string().optional(),
    principal: z.string().describe('Namespaced id: apikey:<id>, jwt:<issuer>#<sub>, stdio:<id>, anonymous.'),
    principalKind: z.enum(['apikey', 'jwt', 'stdio', 'anonymous']),
    groups: z.array(z.string()).optional().describe("The principal's groups as decided on."),
    scopes: z.array(z.string()).optional().describe("The principal's scopes as decided on."),
    session: z.string(),
    transport: z.string(),
    profile: z.string().optional().describe('The profile whose endpoint the call came through.'),
    method: z.string(),
    server: z.string().optional(),
    name: z.string().optional().describe('The exposed name or URI.'),
    original: z.string().optional().describe("The upstream's own name or URI (canonical), as forwarded."),
    annotations: z.record(z.string(), z.unknown()).optional().describe('The tool annotations the decision relied on (approved ones when pinned).'),
    approval: z
      .strictObject({
        by: z.string().describe('The principal who approved.'),
        channel: z.enum(['elicitation', 'url', 'console']),
        id: z.string().optional().describe('The approval (its approval.* events carry the same id); absent for a remembered yes.'),
        remembered: z.boolean().optional().describe('A yes to an identical earlier call covered this one (remember: session or a duration).'),
      })
      .optional()
      .describe('The approval this call went ahead on (approve rules).'),
    decision: z.enum(['allow', 'deny', 'none']).describe('"none": refused before policy was asked (an unknown name, say).'),
    ruleId: z.string().optional().describe('The rule that decided.'),
    reason: z.string().optional(),
    rules: z.array(z.string()).optional().describe('Every rule that matched this request.'),
    shadow: z
      .strictObject({
        rules: z.array(z.strictObject({ ruleId: z.string(), effect: z.string(), outcome: z.string(), detail: z.string().optional() })),
        would: z.strictObject({ allowed: z.boolean(), ruleId: z.string().optional(), code: z.string().optional() }).optional(),
      })
      .optional()
      .describe('Shadow rules that matched, and the decision they would have made when it differs.'),
    conditionErrors: z.array(z.strictObject({ ruleId: z.string(), error: z.string() })).optional(),
    policyVersion: z.string().optional().describe('SHA-256 over the policy files in force.'),
    contract: z
      .strictObject({ status: z.string(), hash: z.string().optional(), approvedHash: z.string().optional(), drifted: z.array(z.string()).optional() })
      .optional()
      .describe('With tool contracts checked: the contract the call was decided on.'),
    argumentProblems: z.array(Problem).optional().describe('Argument problems that "warn" validation let through.'),
    code: z.string().optional().describe('The stable error code (data.code) of a refusal or failure.'),
    outcome: z.enum(['ok', 'error', 'denied']),
    error: z.string().optional(),
    credential: z.enum(['user-oauth', 'token-exchange', 'id-jag']).optional(),
    upstreamSubject: z.string().optional(),
    latencyMs: z.number(),
    argsDigest: z.string().optional().describe('SHA-256 of the JCS form of the arguments as forwarded (always, when there are arguments).'),
    args: z.unknown().optional().describe('The arguments as forwarded, only with audit.includeArgs, without the audit.redact paths.'),
    ...ChainFields,
  })
  .describe('One routed request: who, what, the decision and how it ended.');

export const AuditStartSchema = z
  .strictObject({ type: z.literal('audit-start'), time: z.string(), version: z.string(), ...ChainFields })
  .describe("The first line of a writer's chain.");

export const AuditGapSchema = z
  .strictObject({
    type: z.literal('audit-gap'),
    time: z.string(),
    dropped: z.int().positive(),
    reason: z.string(),
    ...ChainFields,
  })
  .describe('Records the sink could not keep (it fell behind or could not write): counted, never silently lost.');

export const AuditCheckpointSchema = z
  .strictObject({
    type: z.literal('audit-checkpoint'),
    time: z.string(),
    final: z.boolean().describe('Written at a clean shutdown: nothing of this writer comes after it.'),
    keyId: z.string().describe('SHA-256 of the signing public key (SPKI DER).'),
    signature: z.string().describe('Ed25519 over this line\'s "hash", base64.'),
    ...ChainFields,
  })
  .describe('A signed point in the chain (audit.signingKey): proves everything up to it, and with final: true that the log was not cut.');

export const ContractEventSchema = z
  .looseObject({ type: z.literal('contract'), time: z.string(), event: z.enum(['drift', 'finding']), ...ChainFields })
  .describe('A tool-contract drift or lint finding (see Tool contracts).');

export const ApprovalEventSchema = z
  .looseObject({
    type: z.literal('approval'),
    time: z.string(),
    event: z.enum(['requested', 'granted', 'declined', 'expired']),
    approvalId: z.string(),
    principal: z.string().describe('The caller whose call waits.'),
    server: z.string(),
    tool: z.string(),
    ruleId: z.string(),
    digest: z.string().describe('SHA-256 (JCS) of { arguments, policyVersion, principal, server, tool }: what was approved.'),
    requestId: z.string().optional().describe("The call's request id: its audit record carries the same."),
    by: z.string().optional().describe('granted or declined: who decided.'),
    channel: z.enum(['elicitation', 'url', 'console']).optional(),
    ...ChainFields,
  })
  .describe('An approval asked for, decided or expired (see Approvals).');

export const AuditLineSchema = z.discriminatedUnion('type', [
  AuditRecordSchema,
  AuditStartSchema,
  AuditGapSchema,
  AuditCheckpointSchema,
  ContractEventSchema,
  ApprovalEventSchema,
]);

/**
 * What the pipeline hands the sink: a record with placeholders for writer,
 * seq and prev (the chain fills them in) and without its hash.
 */
export type AuditRecord = Omit<z.output<typeof AuditRecordSchema>, 'hash'>;

export function auditJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(AuditLineSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, title: 'Switchboard audit line', ...rest };
}
