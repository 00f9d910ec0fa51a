/**
 * The namespacing rules, pure: how an upstream's tool, prompt and resource
 * names are exposed, and how exposed names split back. Tools and prompts are
 * `<prefix><separator><name>`; resource URIs and URI templates are
 * `<prefix>+<uri>` (a valid URI scheme prefix); an empty prefix mounts
 * without renaming.
 */

/** The specification's rule for tool names (2025-11-25): 1–128 of `[A-Za-z0-9_.-]`. */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function exposeName(prefix: string, name: string, separator: string): string {
  return prefix === '' ? name : `${prefix}${separator}${name}`;
}

export function exposeUri(prefix: string, uri: string): string {
  return prefix === '' ? uri : `${prefix}+${uri}`;
}

/**
 * Splits an exposed URI into the prefix it starts with and the upstream's own
 * URI, if it starts with one of the known (lower-case) prefixes. URIs may contain `+`
 * themselves (`git+https:`), so only a known prefix counts.
 */
export function splitUri(uri: string, knownPrefixes: ReadonlySet<string>): { prefix: string; uri: string } | undefined {
  const plus = uri.indexOf('+');
  if (plus <= 0) return undefined;
  // Part of the URI scheme, so matched without regard to case (known prefixes are lower-case then).
  const prefix = uri.slice(0, plus).toLowerCase();
  return knownPrefixes.has(prefix) ? { prefix, uri: uri.slice(plus + 1) } : undefined;
}

export function isValidToolName(name: string): boolean {
  return TOOL_NAME.test(name);
}
