import { describe, expect, it } from 'vitest';
import { childPath, entryOf, MAX_FIELD_CHARS, MAX_NODES, nameFields, textFields } from '../../../../src/contracts/scan/text.js';
import { excerpt, MAX_EXCERPT } from '../../../../src/contracts/scan/unicode.js';
import { prompt, tool } from './helpers.js';

describe('textFields', () => {
  it('collects top-level text first, then nested titles and descriptions in document order', () => {
    const contract = tool('srv', 'add', {
      inputSchema: { properties: { a: { description: 'First.', title: 'A' }, b: { items: [{ description: 'Item.' }] } } },
      description: 'Adds.',
      title: 'Add',
      annotations: { title: 'Adder', readOnlyHint: true },
    });
    expect(textFields(contract).map((field) => [field.path, field.role, field.text])).toEqual([
      ['title', 'title', 'Add'],
      ['description', 'description', 'Adds.'],
      ['inputSchema.properties.a.description', 'description', 'First.'],
      ['inputSchema.properties.a.title', 'title', 'A'],
      ['inputSchema.properties.b.items[0].description', 'description', 'Item.'],
      ['annotations.title', 'title', 'Adder'],
    ]);
  });

  it('caps scanned text at 64 KiB but keeps the full length', () => {
    const [field] = textFields(tool('srv', 'big', { description: 'x'.repeat(MAX_FIELD_CHARS + 10) }));
    expect(field?.text).toHaveLength(MAX_FIELD_CHARS);
    expect(field?.length).toBe(MAX_FIELD_CHARS + 10);
  });

  it('stops after MAX_NODES steps on a schema of plain keys', () => {
    const properties = Object.fromEntries(Array.from({ length: MAX_NODES * 2 }, (_, i) => [`k${i}`, i === MAX_NODES * 2 - 1 ? { description: 'last' } : 1]));
    expect(textFields(tool('srv', 'many', { inputSchema: { properties } }))).toEqual([]);
  });
});

describe('nameFields and paths', () => {
  it('names a tool, a template (URI and human name) and prompt arguments', () => {
    expect(nameFields(tool('srv', 'add')).map((field) => field.path)).toEqual(['name']);
    expect(
      nameFields({ kind: 'resourceTemplate', server: 'srv', name: 'file:///{path}', fields: { name: 'Files' } }).map((field) => [field.path, field.text]),
    ).toEqual([
      ['uriTemplate', 'file:///{path}'],
      ['name', 'Files'],
    ]);
    const review = entryOf(prompt('srv', 'review', { arguments: [{ name: 'code' }, 'junk', { name: 'lang', description: 'Language.' }] }));
    expect(review.names.map((field) => field.path)).toEqual(['name', 'arguments[0].name', 'arguments[2].name']);
    expect(review.texts.map((field) => field.path)).toEqual(['arguments[2].description']);
  });

  it('writes unusual keys in brackets so paths stay unambiguous', () => {
    expect(childPath('inputSchema.properties', 'file_path')).toBe('inputSchema.properties.file_path');
    expect(childPath('inputSchema.properties', 'a.b c')).toBe('inputSchema.properties["a.b c"]');
    expect(childPath('p', 'pa\u200Bth')).toBe('p["pa\\u{200B}th"]');
    expect(childPath('p', 'k'.repeat(10_000))).toBe(`p["${'k'.repeat(128)}…"]`);
  });
});

describe('excerpt', () => {
  it('escapes invisible and control characters and caps the result at 120 characters', () => {
    expect(excerpt('a\u200Bb\nc', 0, 5)).toBe('a\\u{200B}b\\u{000A}c');
    const long = excerpt('\u200B'.repeat(50), 0, 50);
    expect(long.length).toBeLessThanOrEqual(MAX_EXCERPT);
    expect(long.endsWith('…')).toBe(true);
    expect(excerpt('y'.repeat(120), 0, 120)).toBe('y'.repeat(120));
    expect(excerpt('y'.repeat(121), 0, 121)).toBe(`${'y'.repeat(119)}…`);
  });
});
