/**
 * Text that addresses the model instead of describing the tool: "ignore
 * previous instructions", "do not tell the user", fake `<IMPORTANT>` or
 * `[INST]` markers. A description says what a tool does; orders to the agent
 * in it are the classic tool-poisoning payload.
 *
 * Every pattern is a chain of literal alternatives joined by `\s+` with
 * bounded repeats, so matching is linear in the (capped) text.
 */
import { approveCommand, type Detector, type Hit, scanFields } from './finding.js';
import type { Entry, TextField } from './text.js';
import { quoted } from './unicode.js';

interface Pattern {
  re: RegExp;
  what: string;
}

const OVERRIDE_NOUN = '(?:instructions?|prompts?|rules|guidelines|directions|directives)';

const PATTERNS: readonly Pattern[] = [
  {
    // "ignore all previous instructions", "disregard the above rules", "forget prior prompts".
    re: new RegExp(
      String.raw`\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|every|the|your|of|these|those)\s+){0,3}(?:previous|prior|above|earlier|preceding|system|other|existing|original)\s+${OVERRIDE_NOUN}\b`,
      'giu',
    ),
    what: 'tells the model to ignore its instructions',
  },
  {
    // "disregard all instructions" (no "previous"): still an override.
    re: new RegExp(String.raw`\b(?:ignore|disregard|forget)\s+(?:all|any|every)\s+${OVERRIDE_NOUN}\b`, 'giu'),
    what: 'tells the model to ignore its instructions',
  },
  {
    re: /\b(?:do\s+not|don['’]t|never)\s+(?:tell|inform|mention|reveal|disclose|notify|alert)\s+(?:(?:this|it|that|anything)\s+)?(?:to\s+)?the\s+user\b/giu,
    what: 'tells the model to keep something from the user',
  },
  {
    re: /\bwithout\s+(?:telling|informing|notifying|alerting)\s+the\s+user\b/giu,
    what: 'tells the model to act behind the user’s back',
  },
  {
    re: /\byou\s+must\s+(?:always|first|never)\b/giu,
    what: 'gives the model standing orders',
  },
  {
    re: /\bbefore\s+using\s+(?:any|this|other|the)\s+tools?\b/giu,
    what: 'tells the model what to do before using tools',
  },
  {
    re: /\bsystem\s+prompt\b/giu,
    what: 'refers to the system prompt',
  },
  {
    // <IMPORTANT>, </system>, <instructions priority="high">. Every run is bounded: `<\s*\/?\s*` would
    // be quadratic on a "<" followed by a long run of spaces.
    re: /<\s{0,4}\/?\s{0,4}(?:important|system|instructions?|secret|hidden|admin)\b[^<>]{0,64}>/giu,
    what: 'contains a fake instruction tag',
  },
  {
    // Chat-template control markers: [INST], <<SYS>>, <|im_start|>.
    re: /\[\/?INST\]|<<\/?SYS>>|<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>/giu,
    what: 'contains a chat-template control marker',
  },
];

export const hiddenInstruction: Detector = {
  id: 'hidden-instruction',
  severity: 'high',
  summary: 'Text that addresses the model rather than describing the tool (instruction overrides, secrecy orders, fake <IMPORTANT>/<SYSTEM>/[INST] markers).',
  scan: (entries) => scanFields(hiddenInstruction, entries, (entry) => entry.texts, hitsIn),
};

function hitsIn(field: TextField, entry: Entry): Hit[] {
  const fix = `Read the full ${field.path}: orders to the model are a prompt-injection sign; remove the server, or if review shows it is benign, approve with ${approveCommand(entry.contract)}`;
  return PATTERNS.flatMap(({ re, what }) =>
    Array.from(field.text.matchAll(re), (match) => ({
      start: match.index,
      end: match.index + match[0].length,
      message: `The ${field.role} ${what}: ${quoted(match[0])}`,
      fix,
    })),
  );
}
