// Public types of the simulated ASR services (WhisperLive, whisper-asr-webservice) and of the clip
// book they share.
import type { Fingerprint } from './fingerprint.ts';

/** One clip of the committed manifest (sim/asr/clips.json). */
export interface ClipManifestEntry {
  /** Transcript the simulated ASR returns for this clip. */
  text: string;
  /** Whisper language code of the speech. */
  language: string;
  /** English text for task "translate" (non-English clips). */
  translation?: string;
  /** Speech duration from onset to the end of the last speech frame, ms. */
  speechMs: number;
  /** Silence before the onset in the generated file, ms. */
  leadMs: number;
  /** What espeak-ng said, and with which voice. */
  spoken: string;
  voice: string;
  fingerprint: Fingerprint;
}

export interface ClipManifest {
  generatedBy: string;
  note: string;
  clips: Record<string, ClipManifestEntry>;
}
