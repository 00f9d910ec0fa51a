/**
 * Text that points the agent at somewhere to send data: URLs (IP literals
 * worst), curl/wget, data: URLs, long base64 runs, and wording that asks for
 * secrets or the conversation to be sent. A plain URL is medium (docs links
 * are common); every finding in a field that also asks for secrets is high.
 *
 * Linear matching: each pattern is a bounded or single-class run; the
 * "verb near secret" gap is a tempered token bounded to 80 characters.
 */
import { approveCommand, type Detector, type Hit, scanFields } from './finding.js';
import type { Entry, TextField } from './text.js';
import { quoted } from './unicode.js';

const VERB = String.raw`\b(?:send|sends|sending|sent|post|posts|posting|posted|upload(?:s|ed|ing)?|forward(?:s|ed|ing)?|include[sd]?|including|append(?:s|ed|ing)?|transmit(?:s|ted|ting)?|exfiltrat(?:e|es|ed|ing)|leak(?:s|ed|ing)?|copy|copies|copied|attach(?:es|ed|ing)?|embed(?:s|ded|ding)?|pass(?:es|ed|ing)?)\b`;
/**
 * Secrets and private context. "token" and "conversation" alone are left out:
 * pagination tokens, token counts and chat tools ("post to a conversation")
 * would make every other server high.
 */
const SECRET = String.raw`(?:\b(?:api[_ -]?keys?|(?:access|auth|bearer|api|oauth|session|refresh|github|aws|slack)[_ -]?tokens?|passwords?|passphrases?|secrets?|credentials?|private[_ -]?keys?|ssh[_ -]?keys?|id_rsa|id_ed25519|mcp\.json|(?:conversation|chat|message)[_ ]history|(?:entire|full|whole|previous)\s+conversation)\b|\.(?:env|ssh|aws|netrc|npmrc)\b)`;
/** Up to 80 characters within one sentence (no ". " and no newline). */
const GAP = String.raw`(?:(?!\.\s)[^\n]){0,80}?`;
const SENSITIVE: readonly RegExp[] = [new RegExp(`${VERB}${GAP}${SECRET}`, 'gi'), new RegExp(`${SECRET}${GAP}${VERB}`, 'gi')];

const URL = /\bhttps?:\/\/[^\s<>"'`\\)\]}]+/gi;
const BARE_IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])/g;
const NETWORK_COMMAND = /\b(?:curl|wget)\b/gi;
const DATA_URL = /\bdata:[a-z]+\/[\w.+-]+(?:;[\w=.+-]+)*,[^\s"'<>)]*/gi;
/** 60+ base64 (or base64url) characters; the run must mix upper, lower and digits, so hex digests and long identifiers pass. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{60,}={0,2}/g;
const BASE64_MIX = [/[A-Z]/, /[a-z]/, /[0-9]/];
/** A URL host that is an address, not a name: dotted IPv4, bracketed IPv6, or a bare (decimal/hex) number. */
const IP_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|0x[0-9a-f]+|\d+)$/i;

export const exfiltration: Detector = {
  id: 'exfiltration',
  severity: 'medium',
  summary:
    'URLs (IP literals too), curl/wget, data: URLs and long base64 runs (medium), and wording asking to send secrets or the conversation (high; raises every finding in the same field to high).',
  scan: (entries) => scanFields(exfiltration, entries, (entry) => entry.texts, hitsIn),
};

interface Match {
  start: number;
  end: number;
  what: string;
}

function hitsIn(field: TextField, entry: Entry): Hit[] {
  const text = field.text;
  const sensitive = firstOfOverlapping(SENSITIVE.flatMap((re) => matches(text, re)));
  const urls = matches(text, URL).map(trimUrl(text));
  const dataUrls = matches(text, DATA_URL);
  // A base64 run or an address inside a URL is part of that URL's finding.
  const inside = covered([...urls, ...dataUrls]);
  const plain = [
    ...urls.map((url) => ({ ...url, what: isIpHost(text.slice(url.start, url.end)) ? 'a URL to an IP address' : 'a URL' })),
    ...dataUrls.map((match) => ({ ...match, what: 'a data: URL' })),
    ...matches(text, NETWORK_COMMAND).map((match) => ({ ...match, what: `${text.slice(match.start, match.end)}, a command that sends data out` })),
    ...matches(text, BASE64_RUN)
      .filter((match) => !inside(match) && BASE64_MIX.every((re) => re.test(text.slice(match.start, match.end))))
      .map((match) => ({ ...match, what: `a ${match.end - match.start}-character base64 run` })),
    ...matches(text, BARE_IPV4)
      .filter((match) => !inside(match) && isPublicIpv4(text.slice(match.start, match.end)))
      .map((match) => ({ ...match, what: 'an IP address' })),
  ];
  const secretFix = `Do not approve: ${field.path} asks the agent to send secrets or conversation data; remove the server unless its maintainer fixes the text`;
  const plainFix = `Check where ${field.path} sends the agent: if it is documentation, approve with ${approveCommand(entry.contract)}, otherwise remove the server`;
  const raised = sensitive.length > 0;
  return [
    ...sensitive.map((match) =>
      hit(match, `The ${field.role} asks to send secrets or private context: ${quoted(text.slice(match.start, match.end))}`, secretFix, 'high'),
    ),
    ...plain.map((match) =>
      raised
        ? hit(match, `The ${field.role} contains ${match.what}, next to wording that asks for secrets`, secretFix, 'high')
        : hit(match, `The ${field.role} contains ${match.what}: ${quoted(text.slice(match.start, match.end))}`, plainFix, 'medium'),
    ),
  ];
}

function hit(match: Match, message: string, fix: string, severity: 'medium' | 'high'): Hit {
  return { start: match.start, end: match.end, message, fix, severity };
}

function matches(text: string, re: RegExp): Match[] {
  return Array.from(text.matchAll(re), (match) => ({ start: match.index, end: match.index + match[0].length, what: '' }));
}

/** Of overlapping matches (both sensitive patterns can match the same words), keeps the earliest. */
function firstOfOverlapping(all: readonly Match[]): Match[] {
  const kept: Match[] = [];
  for (const match of [...all].sort((a, b) => a.start - b.start || b.end - a.end)) {
    const last = kept.at(-1);
    if (!last || match.start >= last.end) kept.push(match);
  }
  return kept;
}

/** A test for "overlaps one of these spans", by binary search over the merged spans (no quadratic scan on hostile text). */
function covered(spans: readonly Match[]): (match: Match) => boolean {
  const merged: Match[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return (match) => {
    // The last merged span starting before the match's end is the only one that can overlap it.
    let low = 0;
    let high = merged.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((merged[mid]?.start ?? 0) < match.end) low = mid + 1;
      else high = mid;
    }
    const candidate = merged[low - 1];
    return candidate !== undefined && candidate.end > match.start;
  };
}

/** A URL at the end of a sentence does not include the full stop (a loop: a regex here would backtrack). */
function trimUrl(text: string): (match: Match) => Match {
  return (match) => {
    let end = match.end;
    while (end > match.start && '.,;:!?'.includes(text.charAt(end - 1))) end--;
    return { ...match, end };
  };
}

function isIpHost(url: string): boolean {
  const authority = url.slice(url.indexOf('//') + 2).split(/[/?#]/, 1)[0] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  return IP_HOST.test(host);
}

/** Loopback and the unspecified address are local, and octets over 255 make a version number, not an address. */
function isPublicIpv4(address: string): boolean {
  const octets = address.split('.').map(Number);
  return octets.every((octet) => octet <= 255) && octets[0] !== 127 && address !== '0.0.0.0';
}
