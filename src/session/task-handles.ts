/**
 * The task ids a client sees: the upstream's own task id, namespaced by the
 * server it lives on and bound to the principal that created it, under a MAC
 * only this gateway can make. A handle therefore routes back without any
 * table (nothing per task is held, so a flood of tasks costs no memory), and
 * a handle another principal presents, or one with any part changed, does
 * not open: the gateway cannot tell it from a task that never existed, and
 * neither can the client.
 *
 *     sbt1.<server>.<base64url(upstream task id)>.<base64url(MAC)>
 *
 * The key is made when the gateway starts: handles outlive neither a
 * restart nor the replica that issued them (docs/protocol-coverage.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 'sbt1';
/** MAC bytes kept: 128 bits. */
const MAC_BYTES = 16;
/** Longest upstream task id a handle carries (the spec sets none; this bounds what a handle costs to check). */
export const MAX_UPSTREAM_TASK_ID = 512;

export interface OpenedTask {
  server: string;
  upstreamTaskId: string;
}

export class TaskHandles {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  /** The handle for `upstreamTaskId` on `server`, created by `principal`. */
  issue(principal: string, server: string, upstreamTaskId: string): string {
    const id = Buffer.from(upstreamTaskId, 'utf8').toString('base64url');
    return `${VERSION}.${server}.${id}.${this.mac(principal, server, upstreamTaskId).toString('base64url')}`;
  }

  /** What `handle` names, if `principal` created it here; undefined for anything else. */
  open(handle: string, principal: string): OpenedTask | undefined {
    const parts = handle.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
    const [, server, id, mac] = parts as [string, string, string, string];
    const upstreamTaskId = Buffer.from(id, 'base64url').toString('utf8');
    if (upstreamTaskId.length === 0 || upstreamTaskId.length > MAX_UPSTREAM_TASK_ID) return undefined;
    // Only the canonical encoding opens: one task has one handle.
    if (Buffer.from(upstreamTaskId, 'utf8').toString('base64url') !== id) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(principal, server, upstreamTaskId);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return { server, upstreamTaskId };
  }

  private mac(principal: string, server: string, upstreamTaskId: string): Buffer {
    return createHmac('sha256', this.key).update(`${principal}\u0000${server}\u0000${upstreamTaskId}`).digest().subarray(0, MAC_BYTES);
  }
}
