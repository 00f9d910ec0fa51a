/**
 * `gateway.profiles.<name>`: curated endpoints, each with its own view of the
 * catalog. Cross-key checks and `include` expansion are in `../profiles.ts`.
 */
import { z } from 'zod';

const Globs = z.array(z.string().min(1)).min(1);

export const ProfileSchema = z
  .strictObject({
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9/_.-]*$/, { error: 'must be an absolute URL path such as "/mcp/sales"' })
      .optional(),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    servers: z.array(z.string().min(1)).min(1).optional().describe('The servers this profile shows (default: all).'),
    include: z.string().min(1).optional().describe("A plugin's own .mcp.json: its servers join the gateway and make up this profile."),
    tools: Globs.optional().describe('Globs over exposed tool names.'),
    prompts: Globs.optional().describe('Globs over exposed prompt names.'),
    resources: Globs.optional().describe('Globs over exposed resource URIs and URI templates.'),
    disclosure: z.enum(['full', 'search']).default('full').describe('"search": list find_tools and call_tool (plus pinned) instead of every tool.'),
    pinned: z.array(z.string().min(1)).default([]).describe('Exposed tool names always listed directly under disclosure "search".'),
  })
  .describe('gateway.profiles.<name>: served at path (default /mcp/<name>), and at /sse/<name> for legacy clients.');

export interface ProfileSettings {
  name: string;
  /** Where it is served (absolute URL path). */
  path: string;
  description?: string;
  enabled: boolean;
  /** Undefined: every server. */
  servers?: string[];
  tools?: string[];
  prompts?: string[];
  resources?: string[];
  disclosure: 'full' | 'search';
  pinned: string[];
}
