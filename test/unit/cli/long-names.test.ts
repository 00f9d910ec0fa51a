import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../src/catalog/catalog.js';
import { LongNames, MAX_TOOL_NAME } from '../../../src/cli/commands/long-names.js';
import { parseConfig } from '../../../src/config/load.js';

const config = parseConfig({ mcpServers: { gh: { command: 'node', args: ['x.js'] } }, gateway: { policies: false } }, '/tmp/switchboard.json', {});
const tool = (server: string, prefix: string, original: string): CatalogEntry => ({ kind: 'tool', server, exposed: `${prefix}__${original}`, original });

describe('tool names longer than clients accept', () => {
  it('are said once each, with the prefix length that would fit', () => {
    const names = new LongNames(() => config);
    const long = tool('gh', 'p'.repeat(40), 'x'.repeat(30)); // 72 characters
    const fine = tool('gh', 'gh', 'x'.repeat(MAX_TOOL_NAME - 4)); // exactly 64
    const first = names.check([long, fine, { ...long, kind: 'prompt', exposed: 'q'.repeat(80) }]);
    expect(first).toEqual([
      {
        tool: long.exposed,
        server: 'gh',
        message: `tool name "${long.exposed}" is 72 characters; many clients refuse tool names over 64`,
        fix: 'give server "gh" a shorter prefix (gateway.servers.gh.prefix: at most 32 characters for this tool)',
      },
    ]);
    expect(names.check([long, fine])).toEqual([]);
  });

  it('says when no prefix, or only an empty one, can fix it', () => {
    const names = new LongNames(() => config);
    const [onlyEmpty, none] = names.check([tool('gh', 'gh', 'y'.repeat(63)), tool('gh', 'gh', 'z'.repeat(70))]);
    expect(onlyEmpty!.fix).toMatch(/only gateway\.servers\.gh\.prefix: "" \(no prefix\)/);
    expect(none!.fix).toMatch(/alone is over 64 characters: no prefix can fix it/);
  });
});
