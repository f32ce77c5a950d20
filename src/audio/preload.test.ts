import { expect, it } from 'vitest';
import { preloadAudioCodecs } from './preload.ts';
import { createVad } from './vad.ts';
import { OpusPacketDecoder } from './opus-native.ts';
import { Resampler } from './resample.ts';

it('preloads the shared WASM modules; later instances use them', async () => {
  await preloadAudioCodecs();
  await preloadAudioCodecs(); // idempotent
  const vad = await createVad();
  const opus = new OpusPacketDecoder();
  const resampler = new Resampler(48000); // synchronous once the module is loaded
  expect(vad.push(new Int16Array(640))).toEqual([]);
  expect(opus.decode(new Uint8Array([0xf8, 0xff, 0xfe])).length).toBe(320);
  expect(resampler.process(new Int16Array(960)).length + resampler.flush().length).toBe(320);
  vad.close();
  opus.close();
  resampler.close();
});
