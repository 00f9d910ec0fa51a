/**
 * Contracts and their hashes: which fields a contract covers per kind, and a
 * hash that is SHA-256 over the canonical JSON (JCS) of exactly those fields.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONTRACT_FIELDS, contractOf, hashFields, keyOf } from '../../../src/contracts/contract.js';

const TOOL = {
  name: 'write_file',
  title: 'Write file',
  description: 'Writes a file inside the allowed directories.',
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string', pattern: '^/' }, content: { type: 'string' } },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  outputSchema: { type: 'object', properties: { bytes: { type: 'integer' } } },
  annotations: { destructiveHint: true, readOnlyHint: false },
};

const hashOfTool = (item: Record<string, unknown>) => hashFields(contractOf('tool', 'fs', item)!.fields);

describe('CONTRACT_FIELDS', () => {
  it('covers what an agent reads, per kind', () => {
    expect(CONTRACT_FIELDS.tool).toEqual(['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations']);
    expect(CONTRACT_FIELDS.prompt).toEqual(['name', 'title', 'description', 'arguments']);
    expect(CONTRACT_FIELDS.resourceTemplate).toEqual(['uriTemplate', 'name', 'title', 'description', 'mimeType', 'annotations']);
  });

  it('leaves out _meta, icons and execution hints', () => {
    for (const fields of Object.values(CONTRACT_FIELDS)) {
      expect(fields).not.toContain('_meta');
      expect(fields).not.toContain('icons');
      expect(fields).not.toContain('execution');
    }
  });
});

describe('keyOf', () => {
  it('is the name of a tool or prompt and the URI template of a template', () => {
    expect(keyOf('tool', { name: 't', uriTemplate: 'x://{a}' })).toBe('t');
    expect(keyOf('prompt', { name: 'p' })).toBe('p');
    expect(keyOf('resourceTemplate', { name: 'n', uriTemplate: 'x://{a}' })).toBe('x://{a}');
  });

  it('is undefined when the key is missing or not a string', () => {
    expect(keyOf('tool', {})).toBeUndefined();
    expect(keyOf('tool', { name: 42 })).toBeUndefined();
    expect(keyOf('resourceTemplate', { name: 'n' })).toBeUndefined();
  });
});

describe('contractOf', () => {
  it('keeps only the covered fields, with the server and the upstream name', () => {
    const contract = contractOf('tool', 'fs', { ...TOOL, _meta: { 'acme/x': 1 }, icons: [{ src: 'https://x/i.png' }], execution: { taskSupport: 'optional' } });
    expect(contract).toEqual({ kind: 'tool', server: 'fs', name: 'write_file', fields: TOOL });
  });

  it('leaves a field the item lacks (or holds as undefined) absent, but keeps null', () => {
    const contract = contractOf('tool', 'fs', { name: 't', title: undefined, description: null });
    expect(contract?.fields).toEqual({ name: 't', description: null });
    expect(Object.hasOwn(contract!.fields, 'title')).toBe(false);
  });

  it('names a template by its URI template and covers mimeType', () => {
    const contract = contractOf('resourceTemplate', 'gh', { uriTemplate: 'repo://{owner}/{name}', name: 'repo', mimeType: 'text/plain', size: 3 });
    expect(contract).toEqual({
      kind: 'resourceTemplate',
      server: 'gh',
      name: 'repo://{owner}/{name}',
      fields: { uriTemplate: 'repo://{owner}/{name}', name: 'repo', mimeType: 'text/plain' },
    });
  });

  it("covers a prompt's arguments", () => {
    const contract = contractOf('prompt', 'gh', { name: 'triage', arguments: [{ name: 'n', required: true }], _meta: {} });
    expect(contract?.fields).toEqual({ name: 'triage', arguments: [{ name: 'n', required: true }] });
  });

  it('is undefined for an item without its key', () => {
    expect(contractOf('tool', 'fs', { description: 'no name' })).toBeUndefined();
    expect(contractOf('resourceTemplate', 'fs', { name: 'no template' })).toBeUndefined();
  });
});

describe('hashFields', () => {
  it('is "sha256:" and the SHA-256 of the canonical JSON (JCS)', () => {
    const expected = createHash('sha256').update('{"a":1,"b":[2,{"c":"é","d":null}]}').digest('hex');
    expect(hashFields({ b: [2, { d: null, c: 'é' }], a: 1 })).toBe(`sha256:${expected}`);
    expect(hashFields(TOOL)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('does not depend on key order, at any depth', () => {
    const reordered = {
      annotations: { readOnlyHint: false, destructiveHint: true },
      outputSchema: { properties: { bytes: { type: 'integer' } }, type: 'object' },
      inputSchema: {
        additionalProperties: false,
        required: ['path', 'content'],
        properties: { content: { type: 'string' }, path: { pattern: '^/', type: 'string' } },
        type: 'object',
      },
      description: TOOL.description,
      title: TOOL.title,
      name: TOOL.name,
    };
    expect(hashOfTool(reordered)).toBe(hashOfTool(TOOL));
  });

  it('does not depend on whitespace or number spelling in the source JSON', () => {
    const compact = JSON.parse(JSON.stringify(TOOL));
    const pretty = JSON.parse(JSON.stringify(TOOL, null, 4).replace(/\n/g, '\r\n'));
    expect(hashOfTool(pretty)).toBe(hashOfTool(compact));
    expect(hashFields(JSON.parse('{"n": 1.0, "m": 1e2}'))).toBe(hashFields({ n: 1, m: 100 }));
  });

  it.each([
    ['name', 'write_files'],
    ['title', 'Write a file'],
    ['description', 'Writes a file inside the allowed directories!'],
    ['inputSchema', { ...TOOL.inputSchema, required: ['path'] }],
    ['outputSchema', { type: 'object' }],
    ['annotations', { destructiveHint: true, readOnlyHint: true }],
  ])('changes when %s changes', (field, value) => {
    expect(hashOfTool({ ...TOOL, [field]: value })).not.toBe(hashOfTool(TOOL));
  });

  it('covers every field CONTRACT_FIELDS lists for a tool (each one dropped changes the hash)', () => {
    for (const field of CONTRACT_FIELDS.tool) {
      const { [field]: _dropped, ...rest } = TOOL as Record<string, unknown>;
      expect(hashFields(rest), field).not.toBe(hashFields(TOOL));
    }
  });

  it('changes with whitespace inside a string and with array order', () => {
    expect(hashOfTool({ ...TOOL, description: `${TOOL.description} ` })).not.toBe(hashOfTool(TOOL));
    expect(hashOfTool({ ...TOOL, inputSchema: { ...TOOL.inputSchema, required: ['content', 'path'] } })).not.toBe(hashOfTool(TOOL));
  });

  it('is not changed by fields outside the contract', () => {
    const decorated = { ...TOOL, _meta: { 'acme/build': 7 }, icons: [{ src: 'https://x/icon.png' }], execution: { taskSupport: 'forbidden' } };
    expect(hashOfTool(decorated)).toBe(hashOfTool(TOOL));
    const template = { uriTemplate: 'x://{id}', name: 'x' };
    const hashOfTemplate = (item: Record<string, unknown>) => hashFields(contractOf('resourceTemplate', 's', item)!.fields);
    expect(hashOfTemplate({ ...template, _meta: { a: 1 }, icons: [] })).toBe(hashOfTemplate(template));
  });

  it('tells an absent field from a present one, whatever its value', () => {
    const { title: _title, ...untitled } = TOOL;
    const hashes = [untitled, { ...untitled, title: '' }, { ...untitled, title: null }, { ...untitled, title: TOOL.title }].map(hashOfTool);
    expect(new Set(hashes).size).toBe(4);
    expect(hashOfTool({ ...untitled, title: undefined })).toBe(hashOfTool(untitled));
  });

  it('tells an empty annotations object from none', () => {
    const { annotations: _annotations, ...bare } = TOOL;
    expect(hashOfTool({ ...bare, annotations: {} })).not.toBe(hashOfTool(bare));
  });
});
