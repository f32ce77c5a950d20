// Loads the audio path's WASM modules ahead of the first audio.start (optional: createDecoder and
// createVad load them lazily; the first session otherwise waits ≈50 ms for them).
import { loadOpusModule } from './opus-native.ts';
import { loadSpeexResampler } from './resample.ts';
import { loadFvad } from './vad.ts';

export async function preloadAudioCodecs(): Promise<void> {
  loadOpusModule();
  await Promise.all([loadFvad(), loadSpeexResampler()]);
}
