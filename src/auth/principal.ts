/**
 * Who is calling. Every transport and every credential kind produces the same
 * shape, so policies never care how a caller proved who they are.
 */
import type { Principal } from '../policy/types.js';

export type { Principal };

/** The caller when authentication is not required and no credential was presented. */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', scopes: [], groups: [], claims: {} }) as Principal;

export function principalOf(spec: { id: string; scopes?: string[]; groups?: string[] }, claims: Record<string, unknown> = {}): Principal {
  return { id: spec.id, scopes: [...(spec.scopes ?? [])], groups: [...(spec.groups ?? [])], claims };
}
