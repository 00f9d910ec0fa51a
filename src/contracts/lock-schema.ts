/**
 * The format of `switchboard.lock`: per server and kind, each approved entry's
 * hash and the fields it covers. The zod schema is the single source of
 * truth; `npm run schema` writes schema/switchboard-lock.schema.json from it.
 * (Imports nothing but zod: the generator transpiles this file alone.)
 */
import { z } from 'zod';

export const LOCKFILE_VERSION = 1;

const LockEntrySchema = z.strictObject({
  hash: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, { error: 'a hash is "sha256:" and 64 lower-case hex digits' })
    .describe('SHA-256 of the JCS (RFC 8785) form of `contract`.'),
  contract: z
    .record(z.string(), z.unknown())
    .describe(
      'The approved fields: tool name, title, description, inputSchema, outputSchema, annotations (prompts: arguments; templates: uriTemplate, mimeType).',
    ),
});

const ServerLockSchema = z.strictObject({
  tools: z.record(z.string(), LockEntrySchema).default({}),
  prompts: z.record(z.string(), LockEntrySchema).default({}),
  resourceTemplates: z.record(z.string(), LockEntrySchema).default({}).describe('Keyed by URI template.'),
});

export const LockSchema = z
  .strictObject({
    lockfileVersion: z.literal(LOCKFILE_VERSION),
    servers: z.record(z.string(), ServerLockSchema).default({}).describe('Keyed by the server names of the config (mcpServers).'),
  })
  .describe('Approved tool, prompt and resource-template contracts (written by `switchboard pin`).');

export type Lock = z.output<typeof LockSchema>;
export type LockEntry = z.output<typeof LockEntrySchema>;
export type ServerLock = z.output<typeof ServerLockSchema>;

export function lockJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(LockSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, title: 'Switchboard contract lock', ...rest };
}
