// Golden vectors: every .msgpack decodes to the message of its .json twin, re-encodes to the same
// bytes, and every vlp.v1 message type has at least one vector. Regenerate: npx tsx protocol/vectors/generate.ts
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClientCodec, createServerCodec } from './codec.ts';
import type { DecodeResult } from './decode-result.ts';
import { CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES } from './messages.ts';
import { buildIndex, renderVector, type VectorIndex } from './vectors/generate.ts';
import { VECTORS } from './vectors/table.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as VectorIndex;
const utf8 = new TextEncoder();

function ok<M>(r: DecodeResult<M>): M {
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.msg;
}

// Fresh codecs per side and subprotocol, as two peers would hold them.
const server = { mp: createServerCodec('vlp.v1.msgpack'), json: createServerCodec('vlp.v1.json') };
const client = { mp: createClientCodec('vlp.v1.msgpack'), json: createClientCodec('vlp.v1.json') };

describe('golden vectors', () => {
  it.each(index.vectors.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    const jsonText = readFileSync(join(DIR, entry.json), 'utf8');
    const bytes = new Uint8Array(readFileSync(join(DIR, entry.msgpack)));
    const compactJson = JSON.stringify(JSON.parse(jsonText));
    if (entry.direction === 'client') {
      const fromJson = ok(server.json.decode(utf8.encode(jsonText), false));
      const fromMsgpack = ok(server.mp.decode(bytes, true));
      expect(fromMsgpack.t).toBe(entry.type);
      expect(fromMsgpack).toStrictEqual(fromJson);
      expect(Buffer.from(client.mp.encode(fromMsgpack) as Uint8Array)).toEqual(Buffer.from(bytes));
      expect(client.json.encode(fromJson)).toBe(compactJson);
    } else {
      const fromJson = ok(client.json.decode(jsonText));
      const fromMsgpack = ok(client.mp.decode(bytes));
      expect(fromMsgpack.t).toBe(entry.type);
      expect(fromMsgpack).toStrictEqual(fromJson);
      expect(Buffer.from(server.mp.encode(fromMsgpack) as Uint8Array)).toEqual(Buffer.from(bytes));
      expect(server.json.encode(fromJson)).toBe(compactJson);
    }
  });

  it('covers every client and server message type', () => {
    const has = (direction: string, t: string): boolean => index.vectors.some((e) => e.direction === direction && e.type === t);
    expect(CLIENT_MESSAGE_TYPES.filter((t) => !has('client', t))).toEqual([]);
    expect(SERVER_MESSAGE_TYPES.filter((t) => !has('server', t))).toEqual([]);
  });

  it('match the table they are generated from (run npx tsx protocol/vectors/generate.ts)', () => {
    expect(index).toEqual(buildIndex());
    for (const v of VECTORS) {
      const files = renderVector(v);
      expect(readFileSync(join(DIR, `${v.name}.json`), 'utf8'), v.name).toBe(files.json);
      expect(Buffer.from(readFileSync(join(DIR, `${v.name}.msgpack`))), v.name).toEqual(Buffer.from(files.msgpack));
    }
  });

  it('has no files outside the index', () => {
    const listed = new Set(['index.json', 'generate.ts', 'table.ts', ...index.vectors.flatMap((e) => [e.json, e.msgpack])]);
    expect(readdirSync(DIR).filter((f) => !listed.has(f))).toEqual([]);
  });

  it('includes the binary, non-ASCII and COCO RLE cases', () => {
    const text = (name: string): unknown => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
    expect(text('audio.chunk')).toEqual({ t: 'audio.chunk', data: 'AAD/fwCAAQA=' });
    expect(text('gen.token_unicode')).toMatchObject({ text: 'héllo 世界' });
    expect(text('mask.frame')).toMatchObject({ rle: { size: [3, 4], counts: '264' } });
    const png = ok(server.mp.decode(new Uint8Array(readFileSync(join(DIR, 'image.put.msgpack'))), true));
    expect(png.t === 'image.put' && Array.from(png.data?.subarray(0, 4) ?? [])).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});
