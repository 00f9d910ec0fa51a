import { expect } from 'vitest';
import type { Contract } from '../../../../src/contracts/contract.js';
import { type Finding, scanContracts } from '../../../../src/contracts/scan/index.js';

export function tool(server: string, name: string, fields: Record<string, unknown> = {}): Contract {
  return { kind: 'tool', server, name, fields: { name, ...fields } };
}

export function prompt(server: string, name: string, fields: Record<string, unknown> = {}): Contract {
  return { kind: 'prompt', server, name, fields: { name, ...fields } };
}

/** A tool whose only text is this description. */
export function described(description: string, server = 'srv', name = 'do_thing'): Contract {
  return tool(server, name, { description });
}

/** The findings of one detector over these contracts. */
export function findingsOf(detector: string, contracts: readonly Contract[]): Finding[] {
  return scanContracts(contracts).filter((finding) => finding.detector === detector);
}

/** Descriptions an ordinary, honest server ships: no detector may fire on them. */
export const ORDINARY: readonly Contract[] = [
  tool('fs', 'read_file', {
    description: 'Reads a file from the allowed directories and returns its contents.',
    inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'Path of the file to read.' } }, required: ['path'] },
  }),
  tool('fs', 'list_directory', { description: 'Lists the entries of a directory, marking each as a file or a directory.' }),
  tool('github', 'create_issue', {
    title: 'Create issue',
    description: 'Creates an issue in a GitHub repository.',
    inputSchema: {
      type: 'object',
      properties: {
        title: { type: 'string', description: 'Issue title.' },
        body: { type: 'string', description: 'Issue body, in Markdown.' },
        cursor: { type: 'string', description: 'Pagination token from the previous page; include it to get the next page.' },
      },
    },
  }),
  tool('slack', 'post_message', { description: 'Posts a message to a Slack channel or conversation.' }),
  prompt('github', 'summarize_pr', {
    description: 'Summarizes a pull request.',
    arguments: [{ name: 'number', description: 'The pull request number.', required: true }],
  }),
];

/** The text a finding's span points at, as the detector saw it. */
export function spanned(contract: Contract, finding: Finding): string {
  const text = textAt(contract, finding.field);
  expect(typeof text).toBe('string');
  return (text as string).slice(finding.span.start, finding.span.end);
}

/** Follows a finding's field path (`a.b[0].c`, `a["x.y"]`) into a contract; `name`/`uriTemplate` are the contract's key. */
function textAt(contract: Contract, path: string): unknown {
  if (path === 'name' || path === 'uriTemplate') return contract.name;
  const steps = Array.from(
    path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g),
    (m) => m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(`"${m[3]}"`)),
  );
  let value: unknown = contract.fields;
  for (const step of steps) value = (value as Record<string | number, unknown> | undefined)?.[step];
  return value;
}
