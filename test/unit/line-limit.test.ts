import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { stripBom } from '../../electron/engine/importers/bom.js';
import { lineLimit } from '../../electron/engine/importers/line-limit.js';

const through = (chunks: string[], stage: NodeJS.ReadWriteStream): Promise<string> => text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(stage));

describe('the line limit', () => {
  it('passes lines up to the limit whatever the chunking, and stops one past it where it ends or where it runs on', async () => {
    expect(await through(['abcd\nefgh', 'ij\nk\n'], lineLimit(6))).toBe('abcd\nefghij\nk\n');
    // 7 bytes split across chunks, ending in the second one: found at its line break.
    await expect(through(['ab\nabcd', 'efg\nx\n'], lineLimit(6))).rejects.toThrow(/^the line that starts at byte 3 \("abcd…"\) runs past/);
    // Still running at the end of a chunk: found there.
    await expect(through(['ab\nabcdefgh'], lineLimit(6))).rejects.toThrow(/starts at byte 3/);
  });
});

describe('the byte order mark', () => {
  it('is dropped however it is split, and nothing else is', async () => {
    expect(await through(['\uFEFFa,b\n'], stripBom())).toBe('a,b\n');
    const bom = Buffer.from('\uFEFF');
    expect(await text(Readable.from([bom.subarray(0, 1), bom.subarray(1, 2), Buffer.concat([bom.subarray(2), Buffer.from('x')])]).pipe(stripBom()))).toBe('x');
    expect(await through(['a\uFEFF', 'b'], stripBom())).toBe('a\uFEFFb');
    expect(await through(['ab'], stripBom())).toBe('ab');
  });
});
