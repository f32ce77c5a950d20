// Container robustness: bad bytes are reported as AUDIO_CHUNK_INVALID, the demuxers resynchronise,
// buffers stay bounded, and crafted input cannot hang or blow up the decoder.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { createDecoder } from './decoder.ts';
import type { AudioDecoder } from './types.ts';
import { MAX_PENDING_CONTAINER_BYTES } from './demux.ts';
import { OggOpusDemuxer } from './ogg.ts';
import { WebmOpusDemuxer } from './webm.ts';
import { bestCorrelation, chunks, concat16, concatBytes, decodeAll, ffmpeg, oggPage, opusHead, prng, speak, tempDir } from './audio.testkit.ts';

let tmp: ReturnType<typeof tempDir>;
let ogg: Uint8Array;
let webm: Uint8Array;

beforeAll(() => {
  tmp = tempDir();
  const wav = speak(`${tmp.dir}/speech.wav`);
  // Short pages/clusters (100 ms / 200 ms) so that a lost stretch is short.
  ogg = new Uint8Array(readFileSync(ffmpeg(wav, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k', '-page_duration', '100000'], `${tmp.dir}/s.ogg`)));
  webm = new Uint8Array(readFileSync(ffmpeg(wav, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k', '-cluster_time_limit', '200'], `${tmp.dir}/s.webm`)));
});
afterAll(() => tmp.cleanup());

/** Decodes chunk by chunk, collecting AUDIO_CHUNK_INVALID messages instead of stopping. */
function decodeTolerant(d: AudioDecoder, parts: Uint8Array[]): { pcm: Int16Array; errors: string[]; failedChunks: number[] } {
  const out: Int16Array[] = [];
  const errors: string[] = [];
  const failedChunks: number[] = [];
  parts.forEach((c, i) => {
    try {
      out.push(d.decode(c));
    } catch (err) {
      if (!(err instanceof VlpError) || err.code !== 'AUDIO_CHUNK_INVALID') throw err;
      errors.push(err.message);
      failedChunks.push(i);
    }
  });
  out.push(d.flush());
  return { pcm: concat16(out), errors, failedChunks };
}

function garbage(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const fmt = (encoding: 'ogg_opus' | 'webm_opus') => ({ encoding, sample_rate: 48000, channels: 1 });

describe.each([
  { encoding: 'ogg_opus' as const, file: () => ogg },
  { encoding: 'webm_opus' as const, file: () => webm },
])('$encoding', ({ encoding, file }) => {
  it('garbage in the middle: AUDIO_CHUNK_INVALID, then decoding resumes at the next page/cluster', async () => {
    const bytes = file();
    const clean = decodeAll(await createDecoder(fmt(encoding)), chunks(bytes, 333));
    const parts = chunks(bytes, 333);
    const hit = Math.floor(parts.length / 2);
    parts[hit] = garbage(333, 7);
    const d = await createDecoder(fmt(encoding));
    const { pcm, errors, failedChunks } = decodeTolerant(d, parts);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(failedChunks[0]).toBeGreaterThanOrEqual(hit);
    expect(failedChunks[0]).toBeLessThanOrEqual(hit + 1);
    // At most one page (100 ms) / cluster (200 ms) around the hit plus the chunk itself is lost.
    const lostMs = (clean.length - pcm.length) / 16;
    expect(lostMs).toBeGreaterThan(0);
    expect(lostMs).toBeLessThan(600);
    // The audio after the resync is the same audio.
    const tail = 16_000;
    const { r } = bestCorrelation(clean.subarray(clean.length - tail), pcm.subarray(pcm.length - tail), 10);
    expect(r).toBeGreaterThan(0.99);
  });

  it('bytes that are not this container at all: AUDIO_CHUNK_INVALID, and a real stream afterwards still decodes', async () => {
    const d = await createDecoder(fmt(encoding));
    expect(() => d.decode(garbage(500, 3))).toThrow(VlpError);
    const { pcm } = decodeTolerant(d, chunks(file(), 4096));
    expect(pcm.length / 16).toBeGreaterThan(4000); // the whole 4.6 s sentence, give or take a page
  });

  it('survives random corruption: only AUDIO_CHUNK_INVALID, never a hang, a crash or a runaway output', async () => {
    const bytes = file();
    const rand = prng(42);
    for (let trial = 0; trial < 40; trial++) {
      const mutated = bytes.slice();
      const edits = 1 + Math.floor(rand() * 8);
      for (let e = 0; e < edits; e++) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
      const d = await createDecoder(fmt(encoding));
      const { pcm } = decodeTolerant(d, chunks(mutated, 1 + Math.floor(rand() * 700)));
      expect(pcm.length / 16).toBeLessThan(6000);
      d.close();
    }
  });
});

describe('ogg_opus specifics', () => {
  const audioPacket = new Uint8Array([0xf8, 0xff, 0xfe]); // CELT 20 ms, a silence frame
  const header = () => [
    oggPage({ seq: 0, flags: 0x02, packets: [opusHead()] }),
    oggPage({ seq: 1, packets: [new TextEncoder().encode('OpusTags\0\0\0\0\0\0\0\0')] }),
  ];

  it('a page with a bad checksum is dropped and reported; the pages around it decode', async () => {
    const pages = [...header(), oggPage({ seq: 2, packets: [audioPacket, audioPacket] }), oggPage({ seq: 3, packets: [audioPacket] }), oggPage({ seq: 4, packets: [audioPacket] })];
    const corrupt = pages[3] as Uint8Array;
    corrupt[30] = (corrupt[30] as number) ^ 0x40;
    const d = await createDecoder(fmt('ogg_opus'));
    const { pcm, errors } = decodeTolerant(d, [concatBytes(pages)]);
    expect(errors).toEqual(['Ogg page checksum mismatch']);
    // 3 packets × 320 samples survive, minus the 312/3 = 104 samples of pre-skip.
    expect(pcm.length).toBe(3 * 320 - 104);
  });

  it('packets continued across pages are refused, not buffered', async () => {
    const big = new Uint8Array(300).fill(1);
    const pages = [...header(), oggPage({ seq: 2, packets: [big.subarray(0, 255)], lacing: [255] }), oggPage({ seq: 3, flags: 0x01, packets: [big.subarray(255)], lacing: [45] })];
    const demux = new OggOpusDemuxer();
    const r = demux.push(concatBytes(pages));
    expect(r.error).toMatch(/continued across pages/);
    expect(r.packets).toEqual([]);
    expect(demux.pendingBytes).toBe(0);
  });

  it('multistream (surround) Opus is refused', async () => {
    const demux = new OggOpusDemuxer();
    const r = demux.push(concatBytes([oggPage({ seq: 0, flags: 0x02, packets: [opusHead(6, 312, 1, 4)] }), oggPage({ seq: 1, packets: [audioPacket] })]));
    expect(r.error).toMatch(/multistream|channels/);
    expect(r.packets).toEqual([]);
  });

  it('a chunk that would expand to more than 30 s of audio is refused (decompression bomb)', async () => {
    // 1-byte packets of 120 ms (SILK 60 ms, two empty frames): 255 per page = 30.6 s per 537 bytes.
    const tiny = new Uint8Array([0x19]);
    const page = (seq: number) => oggPage({ seq, packets: Array.from({ length: 255 }, () => tiny) });
    const d = await createDecoder(fmt('ogg_opus'));
    d.decode(concatBytes(header()));
    expect(() => d.decode(concatBytes([page(2), page(3)]))).toThrow(/more than 30000 ms/);
    expect(d.flush().length).toBeLessThanOrEqual(30_000 * 16);
  });

  it('holds at most one incomplete page', () => {
    const demux = new OggOpusDemuxer();
    const bytes = ogg;
    for (const c of chunks(bytes, 1000)) {
      demux.push(c);
      expect(demux.pendingBytes).toBeLessThan(27 + 255 + 255 * 255 + 1000);
    }
  });
});

describe('webm_opus specifics', () => {
  const ebmlHeader = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x80]); // EBML, empty
  const segment = new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // unknown size
  const cluster = new Uint8Array([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

  it('an element size that wraps negative in prism-media (would loop forever) is refused', () => {
    // Info (0x1549A966) with an 8-byte size that prism-media's 32-bit arithmetic turns into -12:
    // exactly back to the element's own start.
    const info = new Uint8Array([0x15, 0x49, 0xa9, 0x66, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xf4]);
    const demux = new WebmOpusDemuxer();
    const r = demux.push(concatBytes([ebmlHeader, segment, info, new Uint8Array(64)]));
    expect(r.error).toMatch(/EBML element size out of range/);
  });

  it('an invalid element ID is refused', () => {
    const demux = new WebmOpusDemuxer();
    expect(demux.push(concatBytes([ebmlHeader, new Uint8Array([0x00, 0x01, 0x02, 0x03])])).error).toMatch(/invalid EBML element ID/);
  });

  it(`an element larger than ${MAX_PENDING_CONTAINER_BYTES} bytes is dropped once the bound is passed`, () => {
    const block = new Uint8Array([0xa3, 0x10, 0x40, 0x00, 0x00]); // SimpleBlock of 4 MiB
    const demux = new WebmOpusDemuxer();
    expect(demux.push(concatBytes([ebmlHeader, segment, cluster, block])).error).toBeUndefined();
    let error: string | undefined;
    let pushed = 0;
    while (error === undefined && pushed < 4 << 20) {
      error = demux.push(new Uint8Array(65_536)).error;
      pushed += 65_536;
      expect(demux.pendingBytes).toBeLessThanOrEqual(MAX_PENDING_CONTAINER_BYTES + 65_536 + 64);
    }
    expect(error).toMatch(/larger than/);
    expect(pushed).toBeLessThanOrEqual(MAX_PENDING_CONTAINER_BYTES + 65_536);
    expect(demux.pendingBytes).toBe(0);
  });

  it('a non-Opus track is refused', () => {
    const demux = new WebmOpusDemuxer();
    const tracks = new Uint8Array([0x16, 0x54, 0xae, 0x6b, 0x8f, 0xae, 0x8d, 0xd7, 0x81, 0x01, 0x83, 0x81, 0x02, 0x63, 0xa2, 0x84, 0x56, 0x6f, 0x72, 0x62]);
    expect(demux.push(concatBytes([ebmlHeader, segment, tracks])).error).toMatch(/not Opus/);
  });
});
