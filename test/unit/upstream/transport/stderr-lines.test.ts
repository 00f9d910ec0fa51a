/**
 * StderrLines: a child's stderr split into lines at \n, \r and \r\n, across
 * chunk boundaries, with every line (and what is held of an unfinished one)
 * capped; a cut line is marked and counted once.
 */
import { describe, expect, it } from 'vitest';
import { StderrLines, TRUNCATED_MARK } from '../../../../src/upstream/transport/stderr-lines.js';

function splitter(maxChars?: number) {
  const lines: string[] = [];
  let cuts = 0;
  const s = new StderrLines(
    (l) => lines.push(l),
    () => cuts++,
    maxChars,
  );
  return { s, lines, cuts: () => cuts };
}

describe('StderrLines', () => {
  it('ends lines at \\n, \\r and \\r\\n, and skips the empty ones', () => {
    const { s, lines } = splitter();
    s.push('one\ntwo\rthree\r\nfour\n\n\nfive');
    expect(lines).toEqual(['one', 'two', 'three', 'four']);
    expect(s.partialChars).toBe(4);
    s.flush();
    expect(lines.at(-1)).toBe('five');
    expect(s.partialChars).toBe(0);
  });

  it('joins a line split across chunks, including a \\r\\n split between them', () => {
    const { s, lines } = splitter();
    for (const chunk of ['hel', 'lo wor', 'ld\r', '\nsecond', ' line\n']) s.push(chunk);
    expect(lines).toEqual(['hello world', 'second line']);
  });

  it('treats a progress bar redrawn with \\r as one line per redraw', () => {
    const { s, lines } = splitter();
    s.push(`${Array.from({ length: 100 }, (_, i) => `progress ${i}%`).join('\r')}\r`);
    expect(lines).toHaveLength(100);
    expect(lines.at(-1)).toBe('progress 99%');
    expect(s.partialChars).toBe(0);
  });

  it('holds at most the cap of a line that never ends, however much arrives, and counts the cut once', () => {
    const { s, lines, cuts } = splitter(64);
    const chunk = '.'.repeat(10_000);
    for (let i = 0; i < 100; i++) {
      s.push(chunk);
      expect(s.partialChars).toBeLessThanOrEqual(64);
    }
    expect(cuts()).toBe(1);
    expect(s.truncated).toBe(1);
    expect(lines).toEqual([]);
    // The line ends: its first 64 characters are reported, marked as cut; the next line is whole again.
    s.push('tail\nnext\n');
    expect(lines).toEqual(['.'.repeat(64) + TRUNCATED_MARK, 'next']);
    expect(cuts()).toBe(1);
  });

  it('cuts a long line inside one chunk and keeps the short lines around it', () => {
    const { s, lines, cuts } = splitter(8);
    s.push(`short\n${'x'.repeat(20)}\nok\n`);
    expect(lines).toEqual(['short', `xxxxxxxx${TRUNCATED_MARK}`, 'ok']);
    expect(cuts()).toBe(1);
  });

  it('splits 40 MB of \\r-separated progress into its records, holding nothing between chunks', () => {
    const { s, lines } = splitter();
    const record = 'downloading layer 123456: ########\r';
    const chunk = record.repeat(Math.ceil(65_536 / record.length));
    const chunks = Math.ceil((40 * 1024 * 1024) / chunk.length);
    for (let i = 0; i < chunks; i++) s.push(chunk);
    expect(lines).toHaveLength(chunks * (chunk.length / record.length));
    expect(s.partialChars).toBe(0);
    expect(s.truncated).toBe(0);
  });
});
