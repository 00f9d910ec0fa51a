import { describe, expect, it } from 'vitest';
import { annotationWidens, diffContracts } from '../../../src/contracts/diff.js';

const approvedTool = {
  name: 'create_issue',
  title: 'Create issue',
  description: 'Create an issue in a repository.',
  inputSchema: {
    type: 'object',
    properties: { repo: { type: 'string' }, title: { type: 'string', maxLength: 200 } },
    required: ['repo', 'title'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: false, destructiveHint: false },
};

/** The approved tool with some fields replaced (undefined drops a field). */
function liveTool(overrides: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries({ ...approvedTool, ...overrides }).filter(([, value]) => value !== undefined));
}

describe('diffContracts', () => {
  it('finds no change between contracts that differ only in key order', () => {
    const reordered = {
      annotations: { destructiveHint: false, readOnlyHint: false },
      inputSchema: {
        additionalProperties: false,
        required: ['repo', 'title'],
        properties: { title: { maxLength: 200, type: 'string' }, repo: { type: 'string' } },
        type: 'object',
      },
      description: approvedTool.description,
      title: approvedTool.title,
      name: approvedTool.name,
    };
    expect(diffContracts(approvedTool, reordered, 'tool')).toEqual({ fields: [], drifted: [], widens: false, widening: [] });
  });

  it('a changed description is drift without widening, with word-level parts', () => {
    const diff = diffContracts(approvedTool, liveTool({ description: 'Create a new issue in a repository.' }), 'tool');
    expect(diff.drifted).toEqual(['description']);
    expect(diff.widens).toBe(false);
    expect(diff.widening).toEqual([]);
    const text = diff.fields[0]!.text!;
    expect(text.filter((part) => part.removed).map((part) => part.value)).toEqual(['an']);
    expect(text.filter((part) => part.added).map((part) => part.value)).toEqual(['a new']);
    expect(
      text
        .filter((part) => !part.added)
        .map((part) => part.value)
        .join(''),
    ).toBe(approvedTool.description);
  });

  it('a changed title is drift without widening', () => {
    const diff = diffContracts(approvedTool, liveTool({ title: 'Open issue' }), 'tool');
    expect(diff).toMatchObject({ drifted: ['title'], widens: false, fields: [{ field: 'title', change: 'changed' }] });
  });

  it('lists changed fields in contract field order, whatever order they changed in', () => {
    const live = liveTool({ annotations: { readOnlyHint: false }, description: 'x', title: 'y' });
    expect(diffContracts(approvedTool, live, 'tool').drifted).toEqual(['title', 'description', 'annotations']);
  });

  it('counts a field added or removed whole', () => {
    const diff = diffContracts(approvedTool, liveTool({ title: undefined, outputSchema: { type: 'object' } }), 'tool');
    expect(diff.fields.map(({ field, change }) => [field, change])).toEqual([
      ['title', 'removed'],
      ['outputSchema', 'added'],
    ]);
    expect(diff.widens).toBe(false);
  });

  it('ignores fields the contract kind does not cover', () => {
    expect(diffContracts(approvedTool, liveTool({ _meta: { x: 1 }, icons: [] }), 'tool').fields).toEqual([]);
  });

  describe('inputSchema', () => {
    const withSchema = (change: (schema: Record<string, any>) => void) => {
      const schema = structuredClone(approvedTool.inputSchema) as Record<string, any>;
      change(schema);
      return liveTool({ inputSchema: schema });
    };

    it('a new property widens, with its reason', () => {
      const diff = diffContracts(
        approvedTool,
        withSchema((schema) => (schema.properties.mode = { type: 'string' })),
        'tool',
      );
      expect(diff).toMatchObject({ drifted: ['inputSchema'], widens: true, widening: ['inputSchema: property "mode" added'] });
      expect(diff.fields[0]!.schema).toEqual([{ path: 'properties.mode', change: 'property-added', after: { type: 'string' }, widens: true }]);
    });

    it('a removed property is drift without widening', () => {
      const diff = diffContracts(
        approvedTool,
        withSchema((schema) => delete schema.properties.title),
        'tool',
      );
      expect(diff.drifted).toEqual(['inputSchema']);
      expect(diff.widens).toBe(false);
    });

    it('a required entry removed widens; one added does not', () => {
      const removed = diffContracts(
        approvedTool,
        withSchema((schema) => (schema.required = ['repo'])),
        'tool',
      );
      expect(removed.widening).toEqual(['inputSchema: required "title" removed']);
      const added = diffContracts(
        approvedTool,
        withSchema((schema) => schema.required.push('other')),
        'tool',
      );
      expect(added.widens).toBe(false);
    });

    it('a raised bound widens and says so', () => {
      const diff = diffContracts(
        approvedTool,
        withSchema((schema) => (schema.properties.title.maxLength = 1000)),
        'tool',
      );
      expect(diff.widening).toEqual(['inputSchema: maxLength of "title": 200 → 1000']);
    });

    it('additionalProperties false → true widens', () => {
      const diff = diffContracts(
        approvedTool,
        withSchema((schema) => (schema.additionalProperties = true)),
        'tool',
      );
      expect(diff.widening).toEqual(['inputSchema: additionalProperties: false → true']);
    });

    it('an inputSchema dropped widens; one added does not', () => {
      expect(diffContracts(approvedTool, liveTool({ inputSchema: undefined }), 'tool').widening).toEqual([
        'inputSchema: removed (arguments are no longer constrained)',
      ]);
      expect(diffContracts(liveTool({ inputSchema: undefined }), approvedTool, 'tool').widens).toBe(false);
    });
  });

  it('outputSchema changes are reported but never widen', () => {
    const approved = liveTool({ outputSchema: { type: 'object', properties: {}, required: ['id'] } });
    const live = liveTool({ outputSchema: { type: 'object', properties: { extra: {} } } });
    const diff = diffContracts(approved, live, 'tool');
    expect(diff.drifted).toEqual(['outputSchema']);
    expect(diff.widens).toBe(false);
    expect(diff.fields[0]!.schema!.map((change) => [change.change, change.widens])).toEqual([
      ['property-added', false],
      ['required-removed', false],
    ]);
  });

  describe('annotations', () => {
    it.each([
      ['readOnlyHint', false, true],
      ['readOnlyHint', undefined, true],
      ['destructiveHint', true, false],
      ['destructiveHint', undefined, false],
      ['idempotentHint', false, true],
      ['idempotentHint', undefined, true],
      ['openWorldHint', true, false],
      ['openWorldHint', undefined, false],
    ])('%s %j → %j widens: the tool claims to be safer', (key, before, after) => {
      expect(annotationWidens(key, before, after)).toBe(true);
      expect(annotationWidens(key, after, before)).toBe(false);
    });

    it('readOnlyHint false → true widens, with its reason', () => {
      const diff = diffContracts(approvedTool, liveTool({ annotations: { readOnlyHint: true, destructiveHint: false } }), 'tool');
      expect(diff).toMatchObject({ widens: true, widening: ['annotations.readOnlyHint: false → true'] });
      expect(diff.fields[0]!.annotations).toEqual([{ key: 'readOnlyHint', before: false, after: true }]);
    });

    it('readOnlyHint true → false does not widen', () => {
      const approved = liveTool({ annotations: { readOnlyHint: true } });
      const diff = diffContracts(approved, liveTool({ annotations: { readOnlyHint: false } }), 'tool');
      expect(diff).toMatchObject({ drifted: ['annotations'], widens: false });
    });

    it('a hint set to its default is no widening, and an annotation title is only drift', () => {
      const approved = liveTool({ annotations: undefined });
      const live = liveTool({ annotations: { readOnlyHint: false, destructiveHint: true, title: 'Issue' } });
      const diff = diffContracts(approved, live, 'tool');
      expect(diff.fields).toEqual([
        {
          field: 'annotations',
          change: 'added',
          annotations: [
            { key: 'destructiveHint', after: true },
            { key: 'readOnlyHint', after: false },
            { key: 'title', after: 'Issue' },
          ],
        },
      ]);
      expect(diff.widens).toBe(false);
    });

    it('annotations added whole can widen, from the MCP defaults', () => {
      const diff = diffContracts(liveTool({ annotations: undefined }), liveTool({ annotations: { readOnlyHint: true } }), 'tool');
      expect(diff.widening).toEqual(['annotations.readOnlyHint: (unset) → true']);
    });

    it('ignores keys that are not behaviour hints, including prototype names', () => {
      expect(annotationWidens('constructor', false, true)).toBe(false);
      expect(annotationWidens('audience', undefined, ['user'])).toBe(false);
    });
  });

  describe('prompts', () => {
    const approvedPrompt = {
      name: 'review',
      description: 'Review code',
      arguments: [
        { name: 'code', description: 'The code', required: true },
        { name: 'style', required: false },
      ],
    };
    const withArguments = (args: unknown) => ({ ...approvedPrompt, arguments: args });

    it('a new argument widens', () => {
      const diff = diffContracts(approvedPrompt, withArguments([...approvedPrompt.arguments, { name: 'lang' }]), 'prompt');
      expect(diff.widening).toEqual(['arguments: argument "lang" added']);
    });

    it('an argument no longer required widens; a removed one does not', () => {
      const optional = diffContracts(approvedPrompt, withArguments([{ name: 'code', description: 'The code' }, { name: 'style' }]), 'prompt');
      expect(optional.widening).toEqual(['arguments: required "code" removed']);
      expect(diffContracts(approvedPrompt, withArguments([approvedPrompt.arguments[0]]), 'prompt').widens).toBe(false);
    });

    it('an argument description change is drift without widening', () => {
      const diff = diffContracts(approvedPrompt, withArguments([{ name: 'code', description: 'Code', required: true }, { name: 'style' }]), 'prompt');
      expect(diff).toMatchObject({ drifted: ['arguments'], widens: false });
    });

    it('arguments that are not a list of named entries widen, to be safe', () => {
      expect(diffContracts(approvedPrompt, withArguments('anything'), 'prompt').widens).toBe(true);
    });
  });

  it('a resource template mimeType change is drift without widening', () => {
    const approved = { uriTemplate: 'file:///{path}', name: 'file', mimeType: 'text/plain' };
    const diff = diffContracts(approved, { ...approved, mimeType: 'text/markdown' }, 'resourceTemplate');
    expect(diff).toMatchObject({ drifted: ['mimeType'], widens: false, fields: [{ field: 'mimeType', change: 'changed' }] });
  });
});
