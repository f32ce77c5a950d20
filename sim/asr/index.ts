// Public entry of the simulated speech recognisers (SIMULATED: no speech model runs here):
// WhisperLive (WebSocket), whisper-asr-webservice (HTTP), the clip book they share, and the test-clip
// generator. The SageMaker JumpStart Whisper endpoint lives in ../sagemaker (`{ whisper: true }`).
export {
  END_OF_AUDIO,
  startWhisperLiveSim,
  WHISPERLIVE_ADMIN_PATH,
  WHISPERLIVE_FAULT_KINDS,
  type WhisperLiveAudioEvent,
  type WhisperLiveClientStats,
  type WhisperLiveClosedEvent,
  type WhisperLiveCloseReason,
  type WhisperLiveConnectionEvent,
  type WhisperLiveFault,
  type WhisperLiveFaultKind,
  type WhisperLiveSegment,
  type WhisperLiveSegmentsEvent,
  type WhisperLiveSim,
  type WhisperLiveSimEvents,
  type WhisperLiveSimOptions,
  type WhisperLiveStats,
} from './whisperlive.ts';
export {
  asrDelayMs,
  DEFAULT_ASR_LATENCY,
  startWhisperAsrSim,
  WHISPER_ASR_ADMIN_PATH,
  WHISPER_ASR_FAULT_KINDS,
  type AsrLatency,
  type WhisperAsrFaultKind,
  type WhisperAsrRequestClosedEvent,
  type WhisperAsrRequestEvent,
  type WhisperAsrRoute,
  type WhisperAsrSim,
  type WhisperAsrSimEvents,
  type WhisperAsrSimOptions,
  type WhisperAsrStats,
} from './whisper-asr.ts';
export type { AsrEngine } from './asr-output.ts';
export {
  ClipBook,
  loadClipBook,
  PLACEHOLDER_WORDS,
  PLACEHOLDER_WORDS_PER_SECOND,
  type AsrTask,
  type BookClip,
  type ClipMatch,
  type TranscribedSegment,
  type TranscribedWord,
  type TranscribeOptions,
  type Transcription,
} from './clip-book.ts';
export { CLIP_DEFS, CLIPS_22050, LEAD_SILENCE_MS, TAIL_SILENCE_MS, type ClipDef, type ClipName } from './clip-defs.ts';
export { AUDIO_DIR, clipFiles, ensureAudioClips, MANIFEST_PATH, type ClipFiles } from './clip-gen.ts';
export type { ClipManifest, ClipManifestEntry } from './types.ts';
export { encodeWav, floatToInt16, int16ToFloat, parseWav, wavTo16kMono } from './wav.ts';
