/**
 * SEP-2243 `Mcp-Param-{Name}` headers on a `tools/call` to a 2026-07-28 HTTP
 * upstream: a tool's input schema may declare (`x-mcp-header`) arguments
 * that the HTTP request must mirror as headers, and such a server refuses a
 * call without them. The SDK client adds them only in `callTool`; the
 * gateway forwards raw requests, so it builds them here from the upstream's
 * own tool definition and the arguments exactly as forwarded.
 */
const PREFIX = 'Mcp-Param-';
/** RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(['string', 'integer', 'boolean']);

interface Declaration {
  path: string[];
  header: string;
}

/** The declarations reachable through `properties` chains; undefined when a declaration is invalid (then none are sent). */
export function paramDeclarations(inputSchema: unknown): Declaration[] | undefined {
  const found: Declaration[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[]): boolean => {
    if (node === null || typeof node !== 'object') return true;
    const schema = node as Record<string, unknown>;
    if ('x-mcp-header' in schema) {
      const header = schema['x-mcp-header'];
      if (path.length === 0 || typeof header !== 'string' || !TOKEN.test(header) || !PRIMITIVE.has(String(schema.type))) return false;
      if (seen.has(header.toLowerCase())) return false;
      seen.add(header.toLowerCase());
      found.push({ path, header });
    }
    const properties = schema.properties;
    if (properties === null || typeof properties !== 'object') return true;
    return Object.entries(properties).every(([key, child]) => visit(child, [...path, key]));
  };
  return visit(inputSchema, []) ? found : undefined;
}

/** The headers for one call: values present and primitive, encoded as the spec says. */
export function paramHeaders(inputSchema: unknown, args: unknown): Record<string, string> | undefined {
  const declarations = paramDeclarations(inputSchema);
  if (!declarations || declarations.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const { path, header } of declarations) {
    const text = textOf(valueAt(args, path));
    if (text !== undefined) headers[`${PREFIX}${header}`] = encoded(text);
  }
  return Object.keys(headers).length > 0 ? headers : undefined;
}

function valueAt(root: unknown, path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/** Plain when it is a safe visible-ASCII field value, else `=?base64?<utf-8 base64>?=`. */
export function encoded(text: string): string {
  const plain = text.length > 0 && text === text.trim() && !(text.startsWith('=?base64?') && text.endsWith('?=')) && /^[\t\x20-\x7e]*$/.test(text);
  return plain ? text : `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}
