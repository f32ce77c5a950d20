// Regenerates the SIMULATED ASR test clips (espeak-ng + ffmpeg) into test/fixtures/audio/ and
// rewrites the committed manifest sim/asr/clips.json (texts, languages, speech durations and
// acoustic fingerprints). Run: npx tsx scripts/gen-audio-clips.ts
import { AUDIO_DIR, MANIFEST_PATH, regenerateClipsAndManifest } from '../sim/asr/clip-gen.ts';

const t0 = performance.now();
const manifest = await regenerateClipsAndManifest();
for (const [name, c] of Object.entries(manifest.clips)) {
  console.log(`${name.padEnd(20)} ${String(c.speechMs).padStart(5)} ms speech  ${c.language}  ${JSON.stringify(c.text)}`);
}
console.log(`wrote ${Object.keys(manifest.clips).length} clips to ${AUDIO_DIR} and ${MANIFEST_PATH} in ${Math.round(performance.now() - t0)} ms`);
