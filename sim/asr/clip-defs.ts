// The test clips: sentences spoken by espeak-ng (no speech model here), the transcript the
// simulated ASR returns for each, its language and, when it is not English, its translation.
// `scripts/gen-audio-clips.ts` turns these into WAV files and the committed manifest clips.json.

export interface ClipDef {
  name: string;
  /** What espeak-ng is asked to say. */
  spoken: string;
  /** espeak-ng voice. */
  voice: string;
  /** The transcript the simulated ASR returns (Whisper style: capitalised, punctuated). */
  text: string;
  /** Whisper language code of the speech. */
  language: string;
  /** English text returned for task "translate" (non-English clips only). */
  translation?: string;
}

export const CLIP_DEFS = [
  { name: 'segment-dog', spoken: 'segment the dog in this picture', voice: 'en', text: 'Segment the dog in this picture.', language: 'en' },
  { name: 'what-in-image', spoken: 'what is in this image?', voice: 'en', text: 'What is in this image?', language: 'en' },
  { name: 'hello-how-are-you', spoken: 'hello, how are you today?', voice: 'en', text: 'Hello, how are you today?', language: 'en' },
  { name: 'detect-cars', spoken: 'detect the cars on the street', voice: 'en', text: 'Detect the cars on the street.', language: 'en' },
  {
    name: 'describe-long',
    spoken: 'Please describe everything you can see in this photograph. Then tell me which of the objects are closest to the camera, and what colour each one is.',
    voice: 'en',
    text: 'Please describe everything you can see in this photograph. Then tell me which of the objects are closest to the camera, and what colour each one is.',
    language: 'en',
  },
  { name: 'zh-what-picture', spoken: '这张图片里有什么？', voice: 'cmn', text: '这张图片里有什么？', language: 'zh', translation: 'What is in this picture?' },
  // A backchannel (options.ignore_backchannels), listed last: tests index the clips above.
  { name: 'okay-uh-huh', spoken: 'okay, okay. uh huh, yeah.', voice: 'en', text: 'Okay, okay. Uh-huh, yeah.', language: 'en' },
] as const satisfies readonly ClipDef[];

export type ClipName = (typeof CLIP_DEFS)[number]['name'];

/** Clips that also get a 22050 Hz copy (`<name>-22050.wav`) for decode tests. */
export const CLIPS_22050: readonly ClipName[] = ['what-in-image'];

/** Silence around the speech in every generated file, ms. */
export const LEAD_SILENCE_MS = 300;
export const TAIL_SILENCE_MS = 800;
