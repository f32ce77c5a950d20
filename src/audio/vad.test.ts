import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VAD_SETTINGS, createVad, type Vad } from './vad.ts';
import type { VadEvent } from './types.ts';
import { bytesToInt16, concat16, envelopeDb, ffmpegRaw, noise, speak, tempDir } from './audio.testkit.ts';

const SR = 16;
let tmp: ReturnType<typeof tempDir>;
/** 1 s of silence, a spoken sentence, 1.5 s of silence (16 kHz). */
let signal: Int16Array;
let truthStartMs: number;
let truthEndMs: number;

beforeAll(() => {
  tmp = tempDir();
  const speech = bytesToInt16(ffmpegRaw(speak(`${tmp.dir}/s.wav`), ['-f', 's16le', '-ar', '16000']));
  signal = concat16([new Int16Array(16_000), speech, new Int16Array(24_000)]);
  // Ground truth from the clean signal's 10 ms envelope: first and last frame above -45 dBFS.
  const env = envelopeDb(signal, 160);
  const loud = env.map((db, i) => (db > -45 ? i : -1)).filter((i) => i >= 0);
  truthStartMs = (loud[0] as number) * 10;
  truthEndMs = ((loud.at(-1) as number) + 1) * 10;
});
afterAll(() => tmp.cleanup());

function pushAll(vad: Vad, s: Int16Array, chunk: number): VadEvent[] {
  const events: VadEvent[] = [];
  for (let i = 0; i < s.length; i += chunk) events.push(...vad.push(s.subarray(i, i + chunk)));
  return events;
}

describe('Vad', () => {
  it('finds the start and end of a sentence surrounded by silence (±150 ms)', async () => {
    const vad = await createVad(DEFAULT_VAD_SETTINGS);
    const events = pushAll(vad, signal, 320);
    expect(events.map((e) => e.kind)).toEqual(['speech_start', 'speech_end']);
    const [start, end] = events as [VadEvent, VadEvent];
    expect(Math.abs(start.atSample / SR - truthStartMs)).toBeLessThanOrEqual(150);
    expect(Math.abs(end.atSample / SR - truthEndMs)).toBeLessThanOrEqual(150);
    expect(start.atSample % 320).toBe(0); // frame boundaries
    expect(vad.inSpeech).toBe(false);
    vad.close();
  });

  it('gives the same events whatever the push sizes (remainder carried between pushes)', async () => {
    const reference = pushAll(await createVad(DEFAULT_VAD_SETTINGS), signal, 320);
    for (const size of [1, 7, 333, 16_000]) expect(pushAll(await createVad(DEFAULT_VAD_SETTINGS), signal, size)).toEqual(reference);
  });

  it('a push that completes no event returns one shared, frozen empty array (nothing allocated per chunk)', async () => {
    const vad = await createVad(DEFAULT_VAD_SETTINGS);
    const none = vad.push(signal.subarray(0, 320));
    expect(vad.push(signal.subarray(320, 480))).toBe(none); // a remainder only
    expect(vad.push(signal.subarray(480, 800))).toBe(none); // remainder completed, then whole frames
    expect(Object.isFrozen(none)).toBe(true);
    expect(none).toEqual([]);
    vad.close();
  });

  it('reports speech_start only after startMs of speech, and speech_end after endSilenceMs', async () => {
    const vad = await createVad(DEFAULT_VAD_SETTINGS);
    const startSample = Math.floor((truthStartMs * SR) / 320) * 320;
    // Up to the speech start plus 100 ms (< 120 ms): nothing yet, not in speech.
    expect(vad.push(signal.subarray(0, startSample + 100 * SR))).toEqual([]);
    expect(vad.inSpeech).toBe(false);
    const more = vad.push(signal.subarray(startSample + 100 * SR, startSample + 400 * SR));
    expect(more.map((e) => e.kind)).toEqual(['speech_start']);
    expect(vad.inSpeech).toBe(true);
    // The sentence's end plus 500 ms of silence: still in speech (end needs 600 ms).
    const endSample = Math.ceil((truthEndMs * SR) / 320) * 320;
    expect(vad.push(signal.subarray(startSample + 400 * SR, endSample + 500 * SR))).toEqual([]);
    expect(vad.inSpeech).toBe(true);
    const last = vad.push(signal.subarray(endSample + 500 * SR));
    expect(last.map((e) => e.kind)).toEqual(['speech_end']);
  });

  it('emits nothing on silence or on steady low noise (also when the noise sets in)', async () => {
    expect(pushAll(await createVad(DEFAULT_VAD_SETTINGS), new Int16Array(16_000 * 5), 320)).toEqual([]);
    for (const dbfs of [-70, -55, -45, -35]) {
      for (const seed of [1, 2, 3]) {
        const vad = await createVad(DEFAULT_VAD_SETTINGS);
        expect(pushAll(vad, concat16([new Int16Array(8000), noise(16_000 * 4, dbfs, seed)]), 320)).toEqual([]);
      }
    }
  });

  it('gates frames under minDbfs: speech at -60 dBFS is not speech with minDbfs -50', async () => {
    const quiet = signal.map((v) => Math.round(v / 300)); // ≈ -50 dB
    expect(pushAll(await createVad({ ...DEFAULT_VAD_SETTINGS, minDbfs: -40 }), quiet, 320)).toEqual([]);
    expect(pushAll(await createVad({ ...DEFAULT_VAD_SETTINGS, minDbfs: -90 }), quiet, 320).map((e) => e.kind)).toEqual(['speech_start', 'speech_end']);
  });

  it('finds speech in background noise', async () => {
    const noisy = signal.map((v, i) => v + (noise(1, -45, i)[0] as number));
    const events = pushAll(await createVad(DEFAULT_VAD_SETTINGS), noisy, 320);
    expect(events.map((e) => e.kind)).toEqual(['speech_start', 'speech_end']);
    expect(Math.abs((events[0] as VadEvent).atSample / SR - truthStartMs)).toBeLessThanOrEqual(150);
  });

  it('reset() ends the utterance without an event and keeps the sample clock', async () => {
    const vad = await createVad(DEFAULT_VAD_SETTINGS);
    const mid = Math.round((truthStartMs + 1000) * SR);
    vad.push(signal.subarray(0, mid));
    expect(vad.inSpeech).toBe(true);
    vad.reset();
    expect(vad.inSpeech).toBe(false);
    const after = vad.push(signal.subarray(mid, mid + 16_000));
    expect(after.map((e) => e.kind)).toEqual(['speech_start']);
    expect((after[0] as VadEvent).atSample).toBeGreaterThanOrEqual(mid);
  });

  it('instances are independent; close() is idempotent and push after it throws', async () => {
    const a = await createVad(DEFAULT_VAD_SETTINGS);
    const b = await createVad(DEFAULT_VAD_SETTINGS);
    a.push(signal.subarray(0, Math.round((truthStartMs + 500) * SR)));
    expect(a.inSpeech).toBe(true);
    expect(b.inSpeech).toBe(false);
    expect(pushAll(b, signal, 320).length).toBe(2);
    a.close();
    a.close();
    expect(() => a.push(new Int16Array(320))).toThrow(/closed/);
  });

  it('validates its settings', async () => {
    await expect(createVad({ ...DEFAULT_VAD_SETTINGS, mode: 4 as 0 })).rejects.toThrow(RangeError);
    await expect(createVad({ ...DEFAULT_VAD_SETTINGS, startMs: 0 })).rejects.toThrow(RangeError);
    await expect(createVad({ ...DEFAULT_VAD_SETTINGS, endSilenceMs: Number.NaN })).rejects.toThrow(RangeError);
    await expect(createVad({ ...DEFAULT_VAD_SETTINGS, minDbfs: 3 })).rejects.toThrow(RangeError);
  });
});
