/**
 * `gateway.console`: the web console (off unless enabled), who may use it and
 * how long a sign-in lasts.
 */
import { z } from 'zod';
import { PositiveMs } from './primitives.js';

const Role = z
  .strictObject({
    scopes: z.array(z.string().min(1)).default([]).describe('A principal with any of these scopes has the role.'),
    groups: z.array(z.string().min(1)).default([]).describe('A principal in any of these groups has the role.'),
  })
  .prefault({});

export const ConsoleSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/, { error: 'a path such as "/console"' })
      .default('/console'),
    sessionMs: PositiveMs.default(3_600_000).describe('How long a console sign-in lasts (a new sign-in is needed after).'),
    signInsPerMinute: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe('Sign-in attempts allowed per source address and minute (API key or IdP); more get 429 with Retry-After.'),
    oidc: z
      .strictObject({
        clientId: z.string().min(1).describe("The console's client id at the organisation's IdP (gateway.auth.jwt.issuer)."),
        clientSecret: z.string().min(1).optional().describe('For a confidential client; a public client uses PKCE alone.'),
        scopes: z.array(z.string().min(1)).default(['openid']).describe('Scopes asked for (add the console role scopes, e.g. "switchboard.admin").'),
        resource: z
          .string()
          .url()
          .optional()
          .describe('RFC 8707 resource asked for, so the access token is one this gateway accepts (default: gateway.auth.resource).'),
      })
      .optional()
      .describe('Sign-in through the IdP (authorization code + PKCE); needs gateway.auth.jwt. The access token obtained is verified like any bearer token.'),
    roles: z
      .strictObject({
        admin: Role.prefault({ scopes: ['switchboard.admin'] }).describe(
          'May read everything and change what the console can change (revoke linked accounts).',
        ),
        viewer: Role.prefault({ scopes: ['switchboard.viewer'] }).describe('May read.'),
      })
      .prefault({}),
  })
  .describe('The web console at <path> (see docs/console.md): off unless enabled; sign-in with an API key whose principal has a console role.');

export type ConsoleSettings = z.output<typeof ConsoleSchema>;
