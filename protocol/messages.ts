// vlp.v1 wire messages: the discriminated unions every peer speaks. protocol/SPEC.md is the prose
// authority; this file is its executable form. Field names are snake_case on the wire.
import type { ErrorCode } from './errors.ts';

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL_MSGPACK = 'vlp.v1.msgpack';
export const SUBPROTOCOL_JSON = 'vlp.v1.json';
export type Subprotocol = typeof SUBPROTOCOL_MSGPACK | typeof SUBPROTOCOL_JSON;

// ---------------------------------------------------------------------------------------------
// Shared value types

/** Input audio encodings a session may declare (see SPEC.md "Audio"). */
export type AsrTask = 'transcribe' | 'translate';

export type AudioEncoding = 'pcm16' | 'f32' | 'mulaw' | 'opus' | 'ogg_opus' | 'webm_opus';

export interface AudioFormat {
  encoding: AudioEncoding;
  /** Samples per second of the input, Hz (8000, 16000, 24000, 48000). */
  sample_rate: number;
  /** Always 1 in v1. */
  channels: number;
}

/** TGI-style generation parameters. Every field optional; ranges are in SPEC.md and params.ts. */
export interface GenParams {
  max_new_tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  typical_p?: number;
  repetition_penalty?: number;
  stop?: string[];
  seed?: number;
  do_sample?: boolean;
  truncate?: number;
  watermark?: boolean;
  best_of?: number;
  return_full_text?: boolean;
  decoder_input_details?: boolean;
  details?: boolean;
}

/** Per-session switches a client may set in hello or session.update. */
export interface SessionOptions {
  /** System prompt for the dialogue model (overrides the server default). */
  system_prompt?: string;
  /** Default model id for text turns. */
  model?: string;
  /** Chain-of-thought planning before VLM answers (off by default). */
  plan?: boolean;
  /** Speculative work on stable partial-transcript intents (off by default). */
  speculate?: boolean;
  /** Barge-in policy for spoken input while an answer streams. */
  barge_in?: 'off' | 'speech_start' | 'first_words';
  /** Treat spoken input that repeats the assistant's recent answer as its own voice coming back
   *  through the microphone: it neither barges in (first_words) nor starts a turn. */
  echo_guard?: boolean;
  /** While the assistant speaks, "yeah", "uh-huh", "right"… are the user listening: they neither
   *  barge in (first_words) nor start a turn. */
  ignore_backchannels?: boolean;
  /** Default generation parameters for this session's turns. */
  params?: GenParams;
}

export type FinishReason = 'length' | 'eos_token' | 'stop_sequence' | 'cancelled' | 'error';
export type TurnKind = 'chat' | 'vqa' | 'segment' | 'plan';
export type CancelReason = 'client' | 'barge_in' | 'superseded' | 'disconnect' | 'shutdown' | 'max_session' | 'speculation_discarded' | 'echo' | 'backchannel';

/** COCO RLE, column-major pixel order, counts start with a zero run. */
export interface CocoRle {
  /** [height, width] in pixels. */
  size: [number, number];
  /** Compressed COCO string (pycocotools rleToString form). */
  counts: string;
}

export interface DetectionBox {
  /** Instance id, unique within the turn; mask.frame refers to it. */
  id: number;
  label: string;
  /** 0..1 detection confidence. */
  score: number;
  /** Pixels [x0, y0, x1, y1] in the source image. */
  box: [number, number, number, number];
}

export interface IntentScore {
  label: string;
  score: number;
}

// ---------------------------------------------------------------------------------------------
// Client → server

export interface HelloMsg {
  t: 'hello';
  /** Free-form client name/version, for logs and metrics only. */
  client?: string;
  /** Session options; validated like session.update. */
  options?: SessionOptions;
  /** Resume a detached session instead of starting one. */
  resume?: { session_id: string; token: string; last_seq: number };
}

export interface SessionUpdateMsg {
  t: 'session.update';
  options: SessionOptions;
}

export interface AudioStartMsg {
  t: 'audio.start';
  format: AudioFormat;
  /** Spoken language (Whisper code such as "en", "zh"); absent = detected by the ASR. */
  language?: string;
  /** `translate`: the transcript is the English translation of the speech. Default `transcribe`. */
  task?: AsrTask;
}

export interface AudioChunkMsg {
  t: 'audio.chunk';
  /** Raw encoded audio bytes (msgpack bin; base64 string in the JSON mirror). */
  data: Uint8Array;
}

export interface AudioEndMsg {
  t: 'audio.end';
}

export interface ImagePutMsg {
  t: 'image.put';
  /** Client-chosen image id, referenced by turn.start.image. */
  id: string;
  /** JPEG/PNG/WebP bytes; exactly one of data or url. */
  data?: Uint8Array;
  url?: string;
}

export interface TurnStartMsg {
  t: 'turn.start';
  /** Client-chosen turn id, echoed in every frame of the turn. */
  id: string;
  text: string;
  /** Id of an image sent with image.put. */
  image?: string;
  model?: string;
  params?: GenParams;
}

export interface TurnCancelMsg {
  t: 'turn.cancel';
  /** Turn to cancel; the running turn when omitted. */
  id?: string;
}

export interface PlaybackTruncateMsg {
  t: 'playback.truncate';
  /** The latest answer's turn (typed or spoken). */
  turn: string;
  /** Characters (Unicode code points) of the turn's streamed answer — its gen.token texts in
   *  order — that the user heard or saw before playback stopped. */
  heard_chars: number;
}

export interface WatchStartMsg {
  t: 'watch.start';
  /** Client-chosen watch id, echoed as `watch` in its watch.event frames; starting an id that is
   *  running replaces that watch. */
  id: string;
  /** What to watch for: 1..8 noun phrases ("person", "red car"), 1..64 characters each. */
  labels: string[];
  /** Least time between two detections of this watch, ms (250..60 000; default 1000). Frames that
   *  arrive sooner wait; a newer frame replaces one waiting. */
  interval_ms?: number;
  /** Keep a detection when its score is > box_threshold (0..1, exclusive; default: the server's). */
  box_threshold?: number;
  /** Frames in a row that must show a label before it enters (1..10; default 1). */
  enter_frames?: number;
  /** Frames in a row without a label before it leaves (1..10; default 2). */
  leave_frames?: number;
  /** A question asked about the frame, as a vision turn, when a label enters ("{label}" is
   *  replaced by the label); absent = events only. At most 1024 characters. */
  ask?: string;
  /** Least time between two turns this watch starts, ms (1000..3 600 000; default 10 000). */
  cooldown_ms?: number;
  /** Only images whose id starts with this are frames of this watch ("cam-"): photos the user
   *  uploads meanwhile under other ids are not examined. Absent: every image. */
  frame_prefix?: string;
}

export interface WatchStopMsg {
  t: 'watch.stop';
  /** The watch to stop. */
  id: string;
}

export interface AckMsg {
  t: 'ack';
  /** Highest server seq the client has processed; frees the replay buffer up to it. */
  seq: number;
}

export interface PingMsg {
  t: 'ping';
  /** Opaque client value echoed in pong (e.g. a timestamp). */
  ts: number;
}

export type ClientMessage =
  | HelloMsg
  | SessionUpdateMsg
  | AudioStartMsg
  | AudioChunkMsg
  | AudioEndMsg
  | ImagePutMsg
  | TurnStartMsg
  | TurnCancelMsg
  | PlaybackTruncateMsg
  | WatchStartMsg
  | WatchStopMsg
  | AckMsg
  | PingMsg;

export type ClientMessageType = ClientMessage['t'];

// ---------------------------------------------------------------------------------------------
// Server → client. Every server frame carries `seq` (per session, from 1, +1 per frame).

export interface ModelInfo {
  id: string;
  kind: 'llm' | 'vlm';
}

export interface ReadyMsg {
  t: 'ready';
  seq: number;
  session_id: string;
  /** Secret for hello.resume; never logged. */
  resume_token: string;
  /** True when this ready completes a resume. */
  resumed: boolean;
  protocol: number;
  models: ModelInfo[];
  limits: {
    max_frame_bytes: number;
    max_text_chars: number;
    max_audio_chunk_bytes: number;
    max_image_bytes: number;
    resume_window_ms: number;
    replay_frames: number;
  };
  /** Milliseconds until the session reaches its maximum duration (limits.maxSessionMs, or its
   *  client token's max_session_s claim when shorter; counted
   *  from its hello, resumes included); absent when sessions have no limit. */
  expires_in_ms?: number;
}

export interface PongMsg {
  t: 'pong';
  seq: number;
  ts: number;
}

export interface VadMsg {
  t: 'vad';
  seq: number;
  event: 'speech_start' | 'speech_end';
  /** Milliseconds of input audio since audio.start at which the event happened. */
  at_ms: number;
}

export interface AsrPartialMsg {
  t: 'asr.partial';
  seq: number;
  /** Words that will not change any more. */
  stable: string;
  /** Words that may still be revised. */
  unstable: string;
}

export interface AsrFinalMsg {
  t: 'asr.final';
  seq: number;
  text: string;
  language?: string;
  /** Turn id the final transcript starts (server-chosen, prefixed "v"). */
  turn: string;
}

export interface AsrLagMsg {
  t: 'asr.lag';
  seq: number;
  /** Milliseconds of audio dropped since the previous asr.lag. */
  dropped_ms: number;
  /** Total dropped since audio.start, ms. */
  total_dropped_ms: number;
}

export interface IntentUpdateMsg {
  t: 'intent.update';
  seq: number;
  turn?: string;
  labels: IntentScore[];
  stable: boolean;
  keywords: string[];
}

export interface PlanStepMsg {
  t: 'plan.step';
  seq: number;
  turn: string;
  index: number;
  text: string;
}

export interface TurnStartedMsg {
  t: 'turn.started';
  seq: number;
  turn: string;
  kind: TurnKind;
  model: string;
}

export interface GenTokenMsg {
  t: 'gen.token';
  seq: number;
  turn: string;
  /** Index of the first token in this frame (0-based within the turn). */
  i: number;
  /** Number of upstream tokens coalesced in this frame (>= 1). */
  n: number;
  /** Their concatenated text (special tokens removed). */
  text: string;
}

export interface GenDoneMsg {
  t: 'gen.done';
  seq: number;
  turn: string;
  finish: FinishReason;
  /** Tokens generated upstream. */
  tokens: number;
  /** Time to first token, ms, measured at the gateway from turn.start. */
  ttft_ms: number;
  /** Total turn duration, ms. */
  total_ms: number;
  /** Authoritative full text (TGI generated_text when available). */
  text: string;
}

export interface DetectBoxesMsg {
  t: 'detect.boxes';
  seq: number;
  turn: string;
  image: string;
  /** [height, width] of the image the boxes refer to, pixels. */
  size: [number, number];
  boxes: DetectionBox[];
}

export interface MaskFrameMsg {
  t: 'mask.frame';
  seq: number;
  turn: string;
  /** Instance id from detect.boxes. */
  id: number;
  label: string;
  score: number;
  rle: CocoRle;
}

/** Why a watch.event with `ask` did not start a turn. */
export type WatchTurnSkipped = 'busy' | 'cooldown' | 'refused';

export interface WatchEventMsg {
  t: 'watch.event';
  seq: number;
  /** The watch.start id. */
  watch: string;
  /** `enter`: the label is in view (after enter_frames frames); `leave`: it is gone (after
   *  leave_frames frames without it). */
  kind: 'enter' | 'leave';
  /** The watched label, as in watch.start (trimmed, lower-case). */
  label: string;
  /** Instances of the label in the frame (0 for leave). */
  count: number;
  /** The image.put id of the frame that decided the event. */
  image: string;
  /** [height, width] of that frame, pixels. */
  size: [number, number];
  /** The label's detections in the frame ([] for leave); ids are the detection's own. */
  boxes: DetectionBox[];
  /** The turn this event started (watch.start `ask`), server-chosen, prefixed "w". */
  turn?: string;
  /** Why an `ask` watch's enter started no turn: another turn was running, the cooldown, or the
   *  turn was refused (an error frame with ref watch.start follows and says why). */
  turn_skipped?: WatchTurnSkipped;
}

export interface TurnCancelledMsg {
  t: 'turn.cancelled';
  seq: number;
  turn: string;
  reason: CancelReason;
}

/** Monotonic timestamps in ms since the turn began (end of speech or turn.start); absent = did not happen. */
export interface TurnMetricsMsg {
  t: 'turn.metrics';
  seq: number;
  turn: string;
  marks: {
    speech_end?: number;
    asr_final?: number;
    intent_stable?: number;
    first_token?: number;
    first_box?: number;
    first_mask?: number;
    done: number;
  };
  counts: {
    tokens: number;
    boxes: number;
    masks: number;
    spec_committed: number;
    spec_discarded: number;
    retries: number;
  };
}

export interface ErrorMsg {
  t: 'error';
  seq: number;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** True when the server closes the connection right after this frame. */
  fatal: boolean;
  /** Turn the error belongs to, when any. */
  turn?: string;
  /** Type of the client message that caused it, when known. */
  ref?: string;
}

export interface GoawayMsg {
  t: 'goaway';
  seq: number;
  reason: 'shutdown' | 'max_session' | 'idle';
  /** Milliseconds until the server closes the connection. */
  time_left_ms: number;
}

export type ServerMessage =
  | ReadyMsg
  | PongMsg
  | VadMsg
  | AsrPartialMsg
  | AsrFinalMsg
  | AsrLagMsg
  | IntentUpdateMsg
  | PlanStepMsg
  | TurnStartedMsg
  | GenTokenMsg
  | GenDoneMsg
  | DetectBoxesMsg
  | MaskFrameMsg
  | WatchEventMsg
  | TurnCancelledMsg
  | TurnMetricsMsg
  | ErrorMsg
  | GoawayMsg;

export type ServerMessageType = ServerMessage['t'];

/** A server message before the outbox stamps its seq. */
export type Unsequenced<M> = M extends { seq: number } ? Omit<M, 'seq'> : never;
export type ServerPayload = Unsequenced<ServerMessage>;

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'hello',
  'session.update',
  'audio.start',
  'audio.chunk',
  'audio.end',
  'image.put',
  'turn.start',
  'turn.cancel',
  'playback.truncate',
  'watch.start',
  'watch.stop',
  'ack',
  'ping',
];

export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = [
  'ready',
  'pong',
  'vad',
  'asr.partial',
  'asr.final',
  'asr.lag',
  'intent.update',
  'plan.step',
  'turn.started',
  'gen.token',
  'gen.done',
  'detect.boxes',
  'mask.frame',
  'watch.event',
  'turn.cancelled',
  'turn.metrics',
  'error',
  'goaway',
];
