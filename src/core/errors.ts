/**
 * The one catalog of errors Switchboard raises. Each has a stable
 * machine-readable `code` (what clients, tests and scripts rely on) and, for
 * errors that cross the wire, the JSON-RPC error code it is sent with.
 * Nothing else in `src/` picks JSON-RPC codes. No SDK import here: each
 * side's SDK seam turns a GatewayError into the SDK's ProtocolError.
 */

/** JSON-RPC codes from the specification and the MCP SDK. */
export const JsonRpc = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** SDK `RequestTimeout`; also what an aborted request rejects with. */
  REQUEST_TIMEOUT: -32001,
  /** Streamable HTTP transport-level rejection (400/403/…), as the SDK sends it. */
  BAD_REQUEST: -32000,
  /** Streamable HTTP: the session id is unknown or expired (sent with 404). */
  SESSION_NOT_FOUND: -32001,
  /** MCP 2026-07-28: the client did not declare a capability the request needs. */
  MISSING_CLIENT_CAPABILITY: -32021,
  /** MCP 2025-11-25: the request needs the user to visit a URL first (URL-mode elicitation). */
  URL_ELICITATION_REQUIRED: -32042,
} as const;

/** Stable codes carried in `error.data.code`. */
export type ErrorCode =
  | 'METHOD_NOT_FOUND'
  | 'INVALID_PARAMS'
  | 'UNKNOWN_TOOL'
  | 'UNKNOWN_PROMPT'
  | 'UNKNOWN_RESOURCE'
  | 'INVALID_CURSOR'
  | 'POLICY_DENIED'
  | 'INSUFFICIENT_SCOPE'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'CLIENT_CAPABILITY_MISSING'
  | 'REQUEST_NOT_ATTRIBUTABLE'
  | 'URL_ELICITATION_REQUIRED'
  | 'SIGN_IN_REQUIRED'
  | 'TOO_MANY_SESSIONS'
  | 'TOOL_QUARANTINED'
  | 'ARGUMENTS_INVALID'
  | 'APPROVAL_REQUIRED'
  | 'APPROVAL_DECLINED'
  | 'APPROVAL_TIMEOUT'
  | 'CONFIG_INVALID';

const jsonRpcCodeOf: Record<ErrorCode, number> = {
  METHOD_NOT_FOUND: JsonRpc.METHOD_NOT_FOUND,
  INVALID_PARAMS: JsonRpc.INVALID_PARAMS,
  UNKNOWN_TOOL: JsonRpc.INVALID_PARAMS,
  UNKNOWN_PROMPT: JsonRpc.INVALID_PARAMS,
  // The SDK emits resource-not-found as -32602 on every revision (the
  // 2026-07-28 rule; 2025-era clients accept both), so we say so here too.
  UNKNOWN_RESOURCE: JsonRpc.INVALID_PARAMS,
  INVALID_CURSOR: JsonRpc.INVALID_PARAMS,
  POLICY_DENIED: -32003,
  INSUFFICIENT_SCOPE: -32004,
  RATE_LIMITED: -32005,
  UNAUTHENTICATED: -32006,
  UPSTREAM_UNAVAILABLE: -32010,
  UPSTREAM_TIMEOUT: JsonRpc.REQUEST_TIMEOUT,
  CLIENT_CAPABILITY_MISSING: JsonRpc.MISSING_CLIENT_CAPABILITY,
  REQUEST_NOT_ATTRIBUTABLE: -32011,
  URL_ELICITATION_REQUIRED: JsonRpc.URL_ELICITATION_REQUIRED,
  SIGN_IN_REQUIRED: -32012,
  /** A new session refused: its principal (HTTP 429) or the gateway (HTTP 503) is at its session cap. */
  TOO_MANY_SESSIONS: -32007,
  /** A tool, prompt or template whose contract is not approved (new, drifted or poisoned): held back by the contract guard. */
  TOOL_QUARANTINED: -32013,
  /** Call arguments that do not match the tool's (approved) input schema. */
  ARGUMENTS_INVALID: JsonRpc.INVALID_PARAMS,
  /** The call needs a person's approval the client cannot ask for: the error carries the approval page's link. */
  APPROVAL_REQUIRED: -32014,
  /** The approver said no. */
  APPROVAL_DECLINED: -32015,
  /** Nobody decided within the rule's timeout. */
  APPROVAL_TIMEOUT: -32016,
  CONFIG_INVALID: JsonRpc.INTERNAL_ERROR,
};

export type ErrorData = Record<string, unknown>;

/** Base of every error Switchboard raises on purpose. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.data = data;
  }

  get jsonRpcCode(): number {
    return jsonRpcCodeOf[this.code];
  }

  /** The JSON-RPC `error` object a client receives. */
  toJsonRpcError(): { code: number; message: string; data: ErrorData } {
    return { code: this.jsonRpcCode, message: this.message, data: { code: this.code, ...this.data } };
  }
}

export const unknownTool = (name: string) => new GatewayError('UNKNOWN_TOOL', `Unknown tool: ${name}`, { name });
export const unknownPrompt = (name: string) => new GatewayError('UNKNOWN_PROMPT', `Unknown prompt: ${name}`, { name });
export const unknownResource = (uri: string) => new GatewayError('UNKNOWN_RESOURCE', `Resource not found: ${uri}`, { uri });
export const methodNotFound = (method: string) => new GatewayError('METHOD_NOT_FOUND', `Method not found: ${method}`, { method });
export const invalidCursor = () => new GatewayError('INVALID_CURSOR', 'Invalid pagination cursor');
export const upstreamUnavailable = (server: string, reason: string) =>
  new GatewayError('UPSTREAM_UNAVAILABLE', `Upstream '${server}' is unavailable: ${reason}`, { server, reason });
export const toolQuarantined = (data: { server: string; kind: string; name: string; exposed: string; reason: string; drifted: string[] }) =>
  new GatewayError('TOOL_QUARANTINED', `${data.exposed} is quarantined: its contract is ${QUARANTINE_WORDS[data.reason] ?? data.reason}`, data);
const QUARANTINE_WORDS: Record<string, string> = {
  new: 'not in the lock (not approved yet)',
  changed: 'not the approved one',
  widened: 'wider than the approved one',
  poisoned: 'flagged by the lint',
};
export const argumentsInvalid = (data: { server: string; tool: string; problems: { path: string; message: string }[] }) =>
  new GatewayError(
    'ARGUMENTS_INVALID',
    `Invalid arguments for ${data.tool}: ${data.problems.map((p) => `${p.path || '(arguments)'} ${p.message}`).join('; ')}`,
    data,
  );
export const upstreamTimeout = (server: string, timeoutMs: number) =>
  new GatewayError('UPSTREAM_TIMEOUT', `Upstream '${server}' did not answer within ${timeoutMs} ms`, {
    server,
    timeoutMs,
  });

/** One problem found in a configuration or policy file. */
export interface ConfigIssue {
  /** The file the problem is in. */
  file: string;
  /** JSON path inside the file, e.g. `mcpServers.github.url`. Empty for the whole file. */
  path: string;
  /** What is wrong. */
  message: string;
  /** What to do about it. */
  fix?: string;
}

/** A configuration that cannot be used; never crosses the wire. */
export class ConfigError extends GatewayError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super('CONFIG_INVALID', formatIssues(issues), { issues });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.file}${i.path ? ` at ${i.path}` : ''}: ${i.message}${i.fix ? `\n  fix: ${i.fix}` : ''}`).join('\n');
}
