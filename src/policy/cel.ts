/**
 * The only import site of the CEL library. Declares the variables policies
 * may use (with types, so a typo or a type error fails loading) and the helper
 * functions of cel-helpers.ts, compiles an expression once, and builds the
 * evaluation context for one request.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { CEL_HELPERS } from './cel-helpers.js';
import type { CompiledExpr, DecisionInput } from './types.js';

// Typed objects rather than maps, so `principal.scope` (a typo) is a load-time
// error instead of a run-time "no such key". The library finds a value's type
// by its constructor, hence one small class per object variable.
class CelPrincipal {
  constructor(
    readonly id: string,
    readonly kind: string,
    readonly subject: string,
    readonly scopes: string[],
    readonly groups: string[],
    readonly claims: Record<string, unknown>,
  ) {}
}
class CelServer {
  constructor(
    readonly name: string,
    readonly transport: string,
  ) {}
}
class CelTool {
  constructor(
    readonly name: string,
    readonly annotations: Record<string, unknown>,
  ) {}
}
class CelResource {
  constructor(readonly uri: string) {}
}
class CelPrompt {
  constructor(readonly name: string) {}
}
class CelRequest {
  constructor(
    readonly time: Date,
    readonly transport: string,
    readonly sessionId: string,
    readonly profile: string,
  ) {}
}

/** Each object variable's fields and their CEL types (also used in error fixes and the README). */
export const CEL_FIELDS = {
  principal: { id: 'string', kind: 'string', subject: 'string', scopes: 'list<string>', groups: 'list<string>', claims: 'map<string, dyn>' },
  server: { name: 'string', transport: 'string' },
  tool: { name: 'string', annotations: 'map<string, dyn>' },
  resource: { uri: 'string' },
  prompt: { name: 'string' },
  // The library's own name for CEL's timestamp inside a declared field.
  request: { time: 'google.protobuf.Timestamp', transport: 'string', sessionId: 'string', profile: 'string' },
} as const;
export const CEL_VARIABLES = [...Object.keys(CEL_FIELDS), 'method', 'args'] as const;

const CTORS = {
  principal: CelPrincipal,
  server: CelServer,
  tool: CelTool,
  resource: CelResource,
  prompt: CelPrompt,
  request: CelRequest,
};

// Building an Environment is the expensive part: once per process.
const env = (() => {
  const e = new Environment();
  for (const [name, fields] of Object.entries(CEL_FIELDS)) {
    const typeName = `switchboard.${name}`;
    e.registerType(typeName, { ctor: CTORS[name as keyof typeof CTORS], fields });
    e.registerVariable(name, typeName);
  }
  // Namespaced helpers (`path.within(...)`) as the library declares `cel.bind`:
  // a constant per namespace whose type, named like it, has the functions as
  // methods. So an overload error reads `path.within(double, string)`.
  for (const [ns, functions] of Object.entries(CEL_HELPERS)) {
    const Namespace = class {};
    e.registerType(ns, { ctor: Namespace }).registerConstant(ns, ns, new Namespace());
    for (const [signature, fn] of Object.entries(functions)) {
      e.registerFunction(`${ns}.${signature}`, (_namespace: unknown, ...args: unknown[]) => fn(...args));
    }
  }
  return e.registerVariable('method', 'string').registerVariable('args', 'map<string, dyn>');
})();

export interface CelCompileError {
  /**
   * `result-type`: well-typed, but not of the type needed (a string where a bool is needed).
   * `principal-id`: compares principal.id with a literal no principal id can equal (see bareIdComparison).
   */
  kind: 'syntax' | 'unknown-variable' | 'unknown-field' | 'type' | 'result-type' | 'principal-id';
  /** One line, without the library's source excerpt. */
  message: string;
  /** 1-based, inside the expression. */
  line: number;
  column: number;
  /** Set for unknown-variable and unknown-field. */
  name?: string;
  /** For unknown-field: the variable whose field was not found. */
  variable?: string;
  /** For principal-id: the literal as written, and the namespaced id it most likely means. */
  literal?: string;
  suggestion?: string;
}

export type CelCompileResult = { ok: true; expr: CompiledExpr } | { ok: false; error: CelCompileError };

/** Parses and type-checks `source`; `want` is the result type a caller accepts (`dyn` is accepted and checked at run time). */
export function compileCel(source: string, want: 'bool' | 'string'): CelCompileResult {
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { ok: false, error: toCompileError(err, source) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, error: toCompileError(checked.error, source) };
  if (checked.type !== want && checked.type !== 'dyn') {
    const message = `the expression is of type ${checked.type}, but a ${want} is needed here`;
    return { ok: false, error: { kind: 'result-type', message, line: 1, column: 1 } };
  }
  const bare = bareIdComparison(source);
  if (bare) return { ok: false, error: bare };
  const expr: CompiledExpr = { source, usesArgs: readsArgs(parsed.ast), evaluate: (ctx) => parsed(ctx as object) };
  return { ok: true, expr };
}

/**
 * Principal ids are namespaced (`apikey:ci-bot`, `jwt:<issuer>#<sub>`,
 * `stdio:local`, `anonymous`; see auth/principal.ts), so `principal.id ==
 * 'ci-bot'` can never be true: a deny written that way would silently deny
 * nobody. Such a comparison fails loading, with the API-key form as the fix
 * (ids were bare API-key, JWT and stdio ids alike before namespacing).
 *
 * A plain regex over the source, not the AST: it catches the common forms
 * (`principal.id ==` / `!=` a quoted literal, either way round); ids built
 * with `+`, `in [...]` lists and `startsWith` are not checked.
 */
const ID_COMPARISON =
  /\bprincipal\.id\s*(?:==|!=)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")|(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(?:==|!=)\s*principal\.id\b/g;
const NAMESPACED = /^(?:apikey:.|stdio:.|jwt:[^#]+#.)|^anonymous$/;

function bareIdComparison(source: string): CelCompileError | undefined {
  for (const match of source.matchAll(ID_COMPARISON)) {
    const literal = match[1] ?? match[2] ?? match[3] ?? match[4] ?? '';
    if (NAMESPACED.test(literal)) continue;
    const { line, column } = lineColumn(source, match.index);
    const message = `principal.id is compared with "${literal}", which no principal id can equal: ids are namespaced by credential kind`;
    return { kind: 'principal-id', message, line, column, literal, suggestion: `apikey:${literal}` };
  }
  return undefined;
}

function toCompileError(err: unknown, source: string): CelCompileError {
  const e = err as { name?: string; code?: string; summary?: string; message?: string; range?: { start: number }; node?: unknown };
  const { line, column } = lineColumn(source, e.range?.start ?? 0);
  const message = e.summary ?? (e.message ?? String(err)).split('\n')[0] ?? 'invalid expression';
  if (e.name === 'ParseError') return { kind: 'syntax', message, line, column };
  if (e.code === 'unknown_variable') {
    const name = /Unknown variable: (\S+)/.exec(message)?.[1];
    return { kind: 'unknown-variable', message, line, column, ...(name ? { name } : {}) };
  }
  if (e.code === 'no_such_key') {
    const name = /No such key: (\S+)/.exec(message)?.[1];
    const variable = objectVariableOf(e.node);
    return { kind: 'unknown-field', message, line, column, ...(name ? { name } : {}), ...(variable ? { variable } : {}) };
  }
  return { kind: 'type', message, line, column };
}

/** For `principal.foo`, the error's node is the select; its operand names the variable. */
function objectVariableOf(node: unknown): string | undefined {
  const n = node as ASTNode | undefined;
  if (n?.op !== '.') return undefined;
  const operand = n.args[0];
  return operand.op === 'id' ? operand.args : undefined;
}

function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1] ?? '').length + 1 };
}

/** Whether the AST mentions the variable `args` anywhere (a macro variable named `args` counts too: harmless). */
function readsArgs(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(readsArgs);
  if (typeof node !== 'object' || node === null || !('op' in node)) return false;
  const n = node as ASTNode;
  if (n.op === 'id') return n.args === 'args';
  return n.op !== 'value' && readsArgs(n.args);
}

/**
 * The variables for one request. Parts the request lacks are empty (a tool
 * rule's `tool.name` is '' on a resource read) rather than missing, so
 * conditions on them are false instead of failing. `method` is the method the
 * decision is about (for a list entry, the method that would use it).
 */
export function celContext(input: DecisionInput, method: string): Record<string, unknown> {
  const { principal: p, request: r } = input;
  return {
    principal: new CelPrincipal(p.id, p.kind, p.subject, p.scopes, p.groups, p.claims),
    server: new CelServer(input.server.name, input.server.transport),
    tool: new CelTool(input.tool?.name ?? '', input.tool?.annotations ?? {}),
    resource: new CelResource(input.resource?.uri ?? ''),
    prompt: new CelPrompt(input.prompt?.name ?? ''),
    method,
    args: input.args ?? {},
    request: new CelRequest(r.time, r.transport, r.sessionId, r.profile ?? ''),
  };
}
