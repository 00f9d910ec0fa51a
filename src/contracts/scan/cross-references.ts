/**
 * A description that names another server's tool or another server: "after
 * this, call send_email". A tool has no business steering the agent to tools
 * it does not own; it is how a poisoned server hijacks a trusted one's
 * capabilities ("shadowing").
 *
 * Text is cut into identifier tokens once and each token is looked up, so the
 * cost is linear in the text whatever the number of tools.
 */
import { approveCommand, type Detector, type Finding, type Hit, scanFields } from './finding.js';
import type { Entry, TextField } from './text.js';
import { quoted } from './unicode.js';

/** Shorter names ("get", "run", "git") are too common as words to be evidence. */
const MIN_NAME = 4;
/** Identifier-like runs: tool names are [A-Za-z0-9_.-], qualified ones add `/` or `__`. */
const TOKEN = /[A-Za-z0-9_][\w./-]*/g;
/** `server__tool`, `server.tool`, `server/tool`: the first separator splits. */
const QUALIFIER = /__|[./]/;
/**
 * A name that is one plain word ("search", "memory") is also an English word;
 * it counts only in a call context: after "call"/"use"/…, before "tool" or
 * "server" or "(", or in backticks. Names with `_`, `-`, digits or inner
 * capitals are code, and count anywhere.
 */
const PLAIN_WORD = /^[A-Za-z][a-z]*$/;
const CALL_BEFORE = /\b(?:call|calls|calling|invoke|invoking|use|using|run|running|execute|trigger)\s+(?:the\s+)?[`'"]?$/i;
const CALL_AFTER = /^[`'"]?(?:\s*(?:tool|server|function)\b|\()/i;

interface Index {
  /** Tool name → the servers that have it. */
  tools: ReadonlyMap<string, ReadonlySet<string>>;
  servers: ReadonlySet<string>;
}

export const crossReferences: Detector = {
  id: 'cross-reference',
  severity: 'medium',
  summary: 'A title or description that names another server’s tool (whole word, 4+ characters) or another server.',
  scan,
};

function scan(entries: readonly Entry[]): Finding[] {
  const index = indexOf(entries);
  return scanFields(
    crossReferences,
    entries,
    (entry) => entry.texts,
    (field, entry) => hitsIn(field, entry, index),
  );
}

function indexOf(entries: readonly Entry[]): Index {
  const tools = new Map<string, Set<string>>();
  const servers = new Set<string>();
  for (const { contract } of entries) {
    servers.add(contract.server);
    if (contract.kind !== 'tool') continue;
    const owners = tools.get(contract.name) ?? new Set<string>();
    tools.set(contract.name, owners.add(contract.server));
  }
  return { tools, servers };
}

function hitsIn(field: TextField, entry: Entry, index: Index): Hit[] {
  const own = entry.contract.server;
  const hits: Hit[] = [];
  for (const match of field.text.matchAll(TOKEN)) {
    const token = withoutTrailingPunctuation(match[0]);
    const start = match.index;
    const end = start + token.length;
    const target = referenceOf(token, own, index);
    if (!target || (PLAIN_WORD.test(token) && !inCallContext(field.text, start, end))) continue;
    hits.push({
      start,
      end,
      message: `The ${field.role} names ${target}, which ${own} does not own`,
      fix: `Check why ${own} points the agent at ${target}: if intended, approve with ${approveCommand(entry.contract)}, otherwise remove the server`,
    });
  }
  return hits;
}

/** What a token refers to outside the own server, if anything: "tool "x" of server "y"" or "server "y"". */
function referenceOf(token: string, own: string, index: Index): string | undefined {
  if (token.length < MIN_NAME || index.tools.get(token)?.has(own)) return qualifiedReference(token, own, index);
  const owners = [...(index.tools.get(token) ?? [])].sort();
  if (owners.length > 0) return `tool ${quoted(token)} of ${owners.map((server) => `server "${server}"`).join(', ')}`;
  if (token !== own && index.servers.has(token)) return `server ${quoted(token)}`;
  return qualifiedReference(token, own, index);
}

/** `mail__send_email`, `mail.send_email`: another server's tool by its qualified name. */
function qualifiedReference(token: string, own: string, index: Index): string | undefined {
  const separator = QUALIFIER.exec(token);
  if (!separator) return undefined;
  const server = token.slice(0, separator.index);
  const tool = token.slice(separator.index + separator[0].length);
  if (server === own || !index.tools.get(tool)?.has(server)) return undefined;
  return `tool ${quoted(tool)} of server "${server}"`;
}

function inCallContext(text: string, start: number, end: number): boolean {
  if (text[start - 1] === '`' && text[end] === '`') return true;
  return CALL_BEFORE.test(text.slice(Math.max(0, start - 24), start)) || CALL_AFTER.test(text.slice(end, end + 16));
}

/** "send_email." at the end of a sentence is "send_email". A loop, not /[./-]+$/, which is quadratic on a long run of dashes. */
function withoutTrailingPunctuation(token: string): string {
  let end = token.length;
  while (end > 0 && './-'.includes(token.charAt(end - 1))) end--;
  return token.slice(0, end);
}
