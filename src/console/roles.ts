/** Which console role a principal has (gateway.console.roles): admin before viewer, else none. */
import type { ConsoleSettings } from '../config/schema/console.js';
import type { Principal } from '../core/principal.js';
import type { ConsoleRole } from './sessions.js';

export function roleOf(principal: Principal, roles: ConsoleSettings['roles']): ConsoleRole | undefined {
  if (holds(principal, roles.admin)) return 'admin';
  if (holds(principal, roles.viewer)) return 'viewer';
  return undefined;
}

function holds(principal: Principal, role: { scopes: string[]; groups: string[] }): boolean {
  return role.scopes.some((s) => principal.scopes.includes(s)) || role.groups.some((g) => principal.groups.includes(g));
}
