// Writes the golden vectors (<name>.json, <name>.msgpack, index.json) from table.ts.
// Run: npx tsx protocol/vectors/generate.ts. Every message is validated and canonicalized first.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClientCodec, createServerCodec } from '../codec.ts';
import type { DecodeResult } from '../decode-result.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { PROTOCOL_VERSION, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '../messages.ts';
import { validateClientMessage, validateServerMessage } from '../validate.ts';
import { VECTORS, type VectorEntry } from './table.ts';

export interface VectorIndexEntry {
  name: string;
  direction: 'client' | 'server';
  type: string;
  description: string;
  json: string;
  msgpack: string;
}

export interface VectorIndex {
  protocol: number;
  vectors: VectorIndexEntry[];
}

interface VectorFiles {
  json: string;
  msgpack: Uint8Array;
}

function unwrap<M>(r: DecodeResult<M>, name: string): M {
  if (!r.ok) throw new Error(`vector ${name} is invalid: ${r.code}: ${r.message}`);
  return r.msg;
}

/** The JSON-mirror text (pretty-printed) and the msgpack bytes of one vector, as the codecs write them. */
export function renderVector(v: VectorEntry): VectorFiles {
  let text: string | Uint8Array;
  let bytes: string | Uint8Array;
  if (v.direction === 'client') {
    const msg = unwrap(validateClientMessage(v.msg, DEFAULT_LIMITS), v.name);
    text = createClientCodec(SUBPROTOCOL_JSON).encode(msg);
    bytes = createClientCodec(SUBPROTOCOL_MSGPACK).encode(msg);
  } else {
    const msg = unwrap(validateServerMessage(v.msg), v.name);
    text = createServerCodec(SUBPROTOCOL_JSON).encode(msg);
    bytes = createServerCodec(SUBPROTOCOL_MSGPACK).encode(msg);
  }
  if (typeof text !== 'string' || typeof bytes === 'string') throw new Error('unexpected frame kind');
  return { json: `${JSON.stringify(JSON.parse(text), null, 2)}\n`, msgpack: bytes.slice() };
}

export function buildIndex(): VectorIndex {
  return {
    protocol: PROTOCOL_VERSION,
    vectors: VECTORS.map((v) => ({
      name: v.name,
      direction: v.direction,
      type: v.msg.t,
      description: v.description,
      json: `${v.name}.json`,
      msgpack: `${v.name}.msgpack`,
    })),
  };
}

function main(): void {
  const dir = dirname(fileURLToPath(import.meta.url));
  const index = buildIndex();
  const keep = new Set(['index.json', ...index.vectors.flatMap((e) => [e.json, e.msgpack])]);
  for (const f of readdirSync(dir)) {
    if ((f.endsWith('.json') || f.endsWith('.msgpack')) && !keep.has(f)) rmSync(join(dir, f));
  }
  for (const v of VECTORS) {
    const files = renderVector(v);
    writeFileSync(join(dir, `${v.name}.json`), files.json);
    writeFileSync(join(dir, `${v.name}.msgpack`), files.msgpack);
  }
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  process.stdout.write(`wrote ${VECTORS.length} vectors to ${dir}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
