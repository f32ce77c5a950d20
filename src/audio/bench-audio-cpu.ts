// CPU per 20 ms chunk of the inbound audio path, and memory per stream. Not a test:
//   npx tsx --expose-gc src/audio/bench-audio-cpu.ts
// Uses real speech (espeak-ng + ffmpeg, as the tests do). Prints min and median of 7 runs; the
// machine's other load shows as a gap between the two. The SpeexDSP qualities section is where
// resample.ts's choice of quality comes from.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createDecoder } from './decoder.ts';
import { Resampler, createResampler, loadSpeexResampler } from './resample.ts';
import { DEFAULT_VAD_SETTINGS, createVad } from './vad.ts';
import { OpusPacketDecoder } from './opus-native.ts';
import { bytesToInt16, chunks, ffmpeg, ffmpegRaw, int16ToBytes, speak, tempDir } from './audio.testkit.ts';
import { ContainerOpusDecoder } from './opus-decoder.ts';
import { OggOpusDemuxer } from './ogg.ts';

const require = createRequire(import.meta.url);
const gc = (globalThis as { gc?: () => void }).gc;
const out = (line: string): void => void process.stdout.write(`${line}\n`);

interface Row {
  name: string;
  minUs: number;
  medianUs: number;
}

/** µs per call of fn over `items` (cycled), min and median of 7 runs. */
function time(name: string, items: number, fn: (i: number) => void, calls = 5000): Row {
  for (let i = 0; i < 1000; i++) fn(i % items);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn(i % items);
    runs.push(Number(process.hrtime.bigint() - t0) / 1000 / calls);
  }
  runs.sort((a, b) => a - b);
  return { name, minUs: runs[0] as number, medianUs: runs[3] as number };
}

/** Memory per instance: growth of RSS, JS heap and ArrayBuffers over n live instances. */
async function memory<T>(name: string, n: number, make: () => T | Promise<T>, dispose?: (t: T) => void): Promise<string> {
  gc?.();
  const before = process.memoryUsage();
  const keep = await Promise.all(Array.from({ length: n }, make));
  gc?.();
  const after = process.memoryUsage();
  const kb = (k: 'rss' | 'heapUsed' | 'arrayBuffers'): string => ((after[k] - before[k]) / n / 1024).toFixed(1).padStart(8);
  if (dispose) for (const t of keep) dispose(t);
  keep.length = 0;
  return `  ${name.padEnd(50)} ${kb('rss')} ${kb('heapUsed')} ${kb('arrayBuffers')}`;
}

/** WASM heap taken by one speex state: how far malloc's next block moves per state, over 200
 *  states (so that holes left by earlier states hardly matter). */
async function speexStateBytes(inRate: number, quality: number): Promise<number> {
  const { mod } = await loadSpeexResampler();
  const probe = (): number => {
    const p = mod._malloc(16);
    mod._free(p);
    return p;
  };
  const a = probe();
  const states = Array.from({ length: 200 }, () => new Resampler(inRate, 16000, quality));
  const b = probe();
  for (const r of states) r.close();
  return Math.round((b - a) / 200);
}

/** The plain (non-SIMD) build, straight through its exports: what a runtime without WASM SIMD
 *  would pay per chunk. */
async function nonSimdRow(quality: number, frames: Int16Array[]): Promise<Row> {
  const { default: factory } = await import('@echogarden/speex-resampler-wasm');
  const mod = await factory();
  const inPtr = mod._malloc(8192);
  const outPtr = mod._malloc(8192);
  const len = mod._malloc(8);
  const st = mod._speex_resampler_init(1, 48000, 16000, quality, len);
  mod._speex_resampler_skip_zeros(st);
  return time(`  (nonsimd build, quality ${quality}, 48k → 16k)`, frames.length, (i) => {
    const f = frames[i] as Int16Array;
    mod.HEAP16.set(f, inPtr >> 1);
    mod.HEAPU32[len >> 2] = f.length;
    mod.HEAPU32[(len >> 2) + 1] = 4096;
    mod._speex_resampler_process_int(st, 0, inPtr, len, outPtr, len + 4);
  });
}

async function main(): Promise<void> {
  const tmp = tempDir();
  try {
    const wav = speak(`${tmp.dir}/s.wav`);
    const pcm16k = bytesToInt16(ffmpegRaw(wav, ['-f', 's16le', '-ar', '16000']));
    const pcm48k = bytesToInt16(ffmpegRaw(wav, ['-f', 's16le', '-ar', '48000']));
    const chunks16 = chunks(int16ToBytes(pcm16k), 640);
    const chunks48 = chunks(int16ToBytes(pcm48k), 1920);
    const frames16 = chunks16.map((c) => bytesToInt16(c));
    const OpusScript = require('opusscript') as new (rate: number, ch: number, app: number) => { encode(b: Buffer, n: number): Buffer; delete(): void };
    const enc = new OpusScript(48000, 1, 2048);
    const packets: Uint8Array[] = [];
    for (let i = 0; i + 960 <= pcm48k.length; i += 960) packets.push(new Uint8Array(enc.encode(Buffer.from(pcm48k.slice(i, i + 960).buffer), 960)));
    enc.delete();
    const ogg = new Uint8Array(readFileSync(ffmpeg(wav, ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k', '-page_duration', '20000'], `${tmp.dir}/s.ogg`)));

    const rows: Row[] = [];
    const pcm16 = await createDecoder({ encoding: 'pcm16', sample_rate: 16000, channels: 1 });
    rows.push(time('pcm16 16 kHz decode (640 B)', chunks16.length, (i) => pcm16.decode(chunks16[i] as Uint8Array)));
    const pcm48 = await createDecoder({ encoding: 'pcm16', sample_rate: 48000, channels: 1 });
    rows.push(time('pcm16 48 kHz decode + resample (1920 B)', chunks48.length, (i) => pcm48.decode(chunks48[i] as Uint8Array)));
    const pcm24 = await createDecoder({ encoding: 'pcm16', sample_rate: 24000, channels: 1 });
    const chunks24 = chunks(int16ToBytes(bytesToInt16(ffmpegRaw(wav, ['-f', 's16le', '-ar', '24000']))), 960);
    rows.push(time('pcm16 24 kHz decode + resample (960 B)', chunks24.length, (i) => pcm24.decode(chunks24[i] as Uint8Array)));
    const mulaw = await createDecoder({ encoding: 'mulaw', sample_rate: 8000, channels: 1 });
    const mulawChunks = chunks(ffmpegRaw(wav, ['-f', 'mulaw', '-ar', '8000']), 160);
    rows.push(time('mulaw 8 kHz decode + resample (160 B)', mulawChunks.length, (i) => mulaw.decode(mulawChunks[i] as Uint8Array)));
    const opus = await createDecoder({ encoding: 'opus', sample_rate: 48000, channels: 1 });
    rows.push(time('opus packet decode at 16 kHz (no resampler)', packets.length, (i) => opus.decode(packets[i] as Uint8Array)));
    // The alternative: decode at 48 kHz, then resample.
    const opus48 = new (require('opusscript') as new (rate: number, ch: number, app: number) => { decode(b: Buffer): Buffer })(48000, 1, 2048);
    const rs = await createResampler(48000);
    rows.push(
      time('  (for contrast: opus at 48 kHz + resample)', packets.length, (i) => {
        const b = opus48.decode(Buffer.from(packets[i] as Uint8Array));
        rs.process(new Int16Array(b.buffer, b.byteOffset, b.length / 2));
      }),
    );
    // ogg_opus: the stream cut into as many pieces as it has packets, demux + decode, fresh
    // decoder per run.
    const oggPieces = chunks(ogg, Math.ceil(ogg.length / packets.length));
    const oggRuns: number[] = [];
    for (let r = 0; r < 9; r++) {
      const d = new ContainerOpusDecoder({ encoding: 'ogg_opus', sample_rate: 48000, channels: 1 }, new OggOpusDemuxer());
      const t0 = process.hrtime.bigint();
      for (const p of oggPieces) d.decode(p);
      oggRuns.push(Number(process.hrtime.bigint() - t0) / 1000 / oggPieces.length);
      d.close();
    }
    oggRuns.sort((a, b) => a - b);
    rows.push({ name: 'ogg_opus demux + decode (per 20 ms of stream)', minUs: oggRuns[0] as number, medianUs: oggRuns[4] as number });
    const vad = await createVad(DEFAULT_VAD_SETTINGS);
    rows.push(time('VAD push (320 samples)', frames16.length, (i) => vad.push(frames16[i] as Int16Array)));

    // SpeexDSP qualities (resample.ts uses RESAMPLER_QUALITY), Resampler.process alone on the same
    // speech, 20 ms chunks. The old hand-written polyphase FIR took ≈54 / 31 / 22 µs.
    const frames48 = chunks48.map((c) => bytesToInt16(c));
    const frames24 = chunks24.map((c) => bytesToInt16(c));
    const frames8 = chunks(ffmpegRaw(wav, ['-f', 's16le', '-ar', '8000']), 320).map((c) => bytesToInt16(c));
    const qualityRows: Row[] = [];
    const stateRows: string[] = [];
    for (const q of [3, 4, 5, 7, 8]) {
      for (const [rate, frames] of [
        [48000, frames48],
        [24000, frames24],
        [8000, frames8],
      ] as const) {
        const r = new Resampler(rate, 16000, q);
        qualityRows.push(time(`speex quality ${q}, ${rate / 1000}k → 16k`, frames.length, (i) => r.process(frames[i] as Int16Array)));
        r.close();
      }
      stateRows.push(`  speex quality ${q}: ${await speexStateBytes(48000, q)} / ${await speexStateBytes(24000, q)} / ${await speexStateBytes(8000, q)} B`);
    }
    qualityRows.push(await nonSimdRow(7, frames48));

    out('\nCPU per 20 ms chunk (µs): min / median of 7 runs');
    for (const r of rows) out(`  ${r.name.padEnd(50)} ${r.minUs.toFixed(1).padStart(7)} / ${r.medianUs.toFixed(1).padStart(7)}`);
    out(`\nSpeexDSP resampler, ${(await loadSpeexResampler()).build} build: CPU per 20 ms chunk (µs), min / median of 7 runs`);
    for (const r of qualityRows) out(`  ${r.name.padEnd(50)} ${r.minUs.toFixed(1).padStart(7)} / ${r.medianUs.toFixed(1).padStart(7)}`);
    out('\nWASM heap per speex state, 48k / 24k / 8k → 16k (struct, history, filter table):');
    for (const line of stateRows) out(line);

    if (!gc) {
      out('\n(run with --expose-gc for the memory figures)');
      return;
    }
    out('\nMemory per live instance (KB):                          RSS  JS heap  ArrayBuffers');
    out(await memory('Resampler 48k (speex state in the shared WASM heap)', 2000, () => new Resampler(48000), (r) => r.close()));
    out(await memory('opus decoder (libopus state in the shared WASM heap)', 500, () => new OpusPacketDecoder()));
    out(await memory('VAD (fvad instance in the shared WASM heap)', 2000, () => createVad(DEFAULT_VAD_SETTINGS)));
  } finally {
    tmp.cleanup();
  }
}

await main();
