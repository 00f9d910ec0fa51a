/**
 * Read-only enforcement. A server marked `readOnly`, or a caller in a group
 * marked `readOnly` (optionally only on some servers), may call only tools
 * that are known to be reads: declared in the server's `readOnlyTools`, or
 * annotated `readOnlyHint: true` by a server whose annotations are trusted.
 * Annotations alone are hints a server could lie about, hence the trust flag.
 * Resources, prompts and completions are reads and never refused here.
 */
import type { Evaluation } from './evaluation.js';
import type { PolicySet } from './types.js';

export interface ReadOnlyDenial {
  ruleId: string;
  reason: string;
}

export function readOnlyDenial(set: PolicySet, trusted: ReadonlySet<string>, ev: Evaluation): ReadOnlyDenial | undefined {
  if (ev.kind !== 'tool') return undefined;
  const { server, tool, principal } = ev.input;
  const source = readOnlySource(set, server.name, principal.groups);
  if (source === undefined) return undefined;
  const policy = set.servers[server.name];
  if (tool !== undefined) {
    if (policy?.readOnlyTools?.test(tool.name)) return undefined;
    const trusts = policy?.trustAnnotations === true || trusted.has(server.name);
    if (trusts && tool.annotations?.readOnlyHint === true) return undefined;
  }
  const what = tool ? `tool "${tool.name}"` : 'this tool';
  return { ruleId: source.id, reason: `${source.why}: ${what} is not declared read-only, so it may not be called` };
}

/** Why the request is read-only, if it is: the server's setting first, then the caller's groups. */
function readOnlySource(set: PolicySet, server: string, groups: readonly string[]): { id: string; why: string } | undefined {
  if (set.servers[server]?.readOnly) return { id: `servers.${server}.readOnly`, why: `server "${server}" is read-only` };
  for (const group of groups) {
    const g = set.groups[group];
    if (g?.readOnly && (!g.servers || g.servers.test(server))) {
      return { id: `groups.${group}.readOnly`, why: `members of group "${group}" have read-only access to server "${server}"` };
    }
  }
  return undefined;
}
