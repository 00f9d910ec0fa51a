/**
 * `gateway.approvals`: where pending approvals and remembered grants live
 * (this process, or Redis shared by replicas so any replica's console can
 * decide), and the webhook that tells approvers a call waits for them.
 */
import { z } from 'zod';
import { HttpUrl, PositiveMs } from './primitives.js';

export const ApprovalsSchema = z
  .strictObject({
    store: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('memory') }),
        z.strictObject({
          type: z.literal('redis'),
          url: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }),
          prefix: z.string().default('switchboard:approvals:').describe('Key prefix, so several gateways can share one Redis.'),
          timeoutMs: PositiveMs.default(2_000).describe('The longest one Redis command may take.'),
        }),
      ])
      .prefault({ type: 'memory' })
      .describe('memory: approvals are decided on the replica where the call waits; redis: on any replica.'),
    notify: z
      .strictObject({
        url: HttpUrl.describe('Receives a Slack-compatible JSON POST (text, blocks, approval) for each call that waits for someone else.'),
        headers: z.record(z.string(), z.string()).optional().describe('Sent with each POST (an authorization header, say).'),
        timeoutMs: PositiveMs.default(5_000),
        retries: z.int().min(0).max(10).default(3).describe('Attempts after the first, with backoff.'),
      })
      .optional(),
  })
  .describe('Approvals for calls an "approve" policy rule decided (docs/approvals.md).');

export type ApprovalsSettings = z.output<typeof ApprovalsSchema>;
