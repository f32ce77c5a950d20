// The golden vector table: one or more example messages of every vlp.v1 type. generate.ts writes
// them to disk; the files, not this table, are what the tests and other clients' test suites read.
import type { ClientMessage, ServerMessage } from '../messages.ts';

export type VectorEntry =
  | { name: string; direction: 'client'; description: string; msg: ClientMessage }
  | { name: string; direction: 'server'; description: string; msg: ServerMessage };

/** 16-bit little-endian PCM samples 0, 32767, -32768, 1. */
const PCM16 = Uint8Array.of(0x00, 0x00, 0xff, 0x7f, 0x00, 0x80, 0x01, 0x00);
/** The PNG signature and the start of an IHDR chunk. */
const PNG_HEAD = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52);

const client = (name: string, description: string, msg: ClientMessage): VectorEntry => ({ name, direction: 'client', description, msg });
const server = (name: string, description: string, msg: ServerMessage): VectorEntry => ({ name, direction: 'server', description, msg });

export const VECTORS: readonly VectorEntry[] = [
  // ---- client → server
  client('hello', 'Minimal hello: start a new session with server defaults.', { t: 'hello' }),
  client('hello_options', 'hello with a client name and session options including default generation parameters.', {
    t: 'hello',
    client: 'vlp-node/0.1.0',
    options: {
      system_prompt: 'You are a concise assistant.',
      model: 'llama-2-7b-chat',
      plan: false,
      speculate: true,
      barge_in: 'speech_start',
      params: { max_new_tokens: 256, temperature: 0.7, top_p: 0.95, stop: ['</s>'] },
    },
  }),
  client('hello_resume', 'hello resuming a detached session after seq 41.', {
    t: 'hello',
    client: 'vlp-node/0.1.0',
    resume: { session_id: 's_3f9a1c2e', token: 'rt_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', last_seq: 41 },
  }),
  client('session.update', 'Switch barge-in off and change the default temperature.', {
    t: 'session.update',
    options: { barge_in: 'off', params: { temperature: 0.2 } },
  }),
  client('audio.start', 'Declare 16 kHz mono PCM16 input.', {
    t: 'audio.start',
    format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 },
  }),
  client('audio.start_translate', 'Declare browser Ogg/Opus input of Mandarin speech, transcripts translated to English.', {
    t: 'audio.start',
    format: { encoding: 'ogg_opus', sample_rate: 48000, channels: 1 },
    language: 'zh',
    task: 'translate',
  }),
  client('audio.chunk', 'Four PCM16 samples (0, 32767, -32768, 1) as msgpack bin / base64.', { t: 'audio.chunk', data: PCM16 }),
  client('audio.end', 'End of the audio stream.', { t: 'audio.end' }),
  client('image.put', 'An image by value (the first 16 bytes of a PNG, for brevity).', { t: 'image.put', id: 'img1', data: PNG_HEAD }),
  client('image.put_url', 'An image by URL.', { t: 'image.put', id: 'img2', url: 'https://example.com/cat.jpg' }),
  client('turn.start', 'Minimal text turn.', { t: 'turn.start', id: 't1', text: 'What is the capital of France?' }),
  client('turn.start_full', 'Vision turn with an image, a model and every generation parameter.', {
    t: 'turn.start',
    id: 't2',
    text: 'Describe the image.',
    image: 'img1',
    model: 'idefics-9b-instruct',
    params: {
      max_new_tokens: 128,
      temperature: 0.5,
      top_k: 50,
      top_p: 0.9,
      typical_p: 0.95,
      repetition_penalty: 1.1,
      stop: ['\nUser:', '<end_of_utterance>'],
      seed: 42,
      do_sample: true,
      truncate: 1000,
      watermark: false,
      best_of: 1,
      return_full_text: false,
      decoder_input_details: false,
      details: true,
    },
  }),
  client('turn.cancel', 'Cancel turn t1.', { t: 'turn.cancel', id: 't1' }),
  client('turn.cancel_running', 'Cancel whatever turn is running.', { t: 'turn.cancel' }),
  client('ack', 'Everything up to seq 17 has been processed.', { t: 'ack', seq: 17 }),
  client('playback.truncate', 'The user heard the first 42 characters of turn v3\'s answer before speaking over it.', { t: 'playback.truncate', turn: 'v3', heard_chars: 42 }),
  client('ping', 'Application ping carrying a client timestamp (ms).', { t: 'ping', ts: 1712345678901 }),

  // ---- server → client
  server('ready', 'A new session.', {
    t: 'ready',
    seq: 1,
    session_id: 's_3f9a1c2e',
    resume_token: 'rt_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA',
    resumed: false,
    protocol: 1,
    models: [
      { id: 'llama-2-7b-chat', kind: 'llm' },
      { id: 'idefics-9b-instruct', kind: 'vlm' },
    ],
    limits: {
      max_frame_bytes: 8388608,
      max_text_chars: 16384,
      max_audio_chunk_bytes: 65536,
      max_image_bytes: 6291456,
      resume_window_ms: 30000,
      replay_frames: 512,
    },
  }),
  server('ready_resumed', 'A completed resume: seq 45 follows the buffered frames 42..44, which are replayed next.', {
    t: 'ready',
    seq: 45,
    session_id: 's_3f9a1c2e',
    resume_token: 'rt_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA',
    resumed: true,
    protocol: 1,
    models: [{ id: 'llama-2-7b-chat', kind: 'llm' }],
    limits: {
      max_frame_bytes: 8388608,
      max_text_chars: 16384,
      max_audio_chunk_bytes: 65536,
      max_image_bytes: 6291456,
      resume_window_ms: 30000,
      replay_frames: 512,
    },
  }),
  server('ready_expiring', 'A new session on a gateway with a session duration limit (limits.maxSessionMs, 1 h).', {
    t: 'ready',
    seq: 1,
    session_id: 's_7d20b4a1',
    resume_token: 'rt_cXV4MTIzNDU2Nzg5MFpvb2JhcmJhego',
    resumed: false,
    protocol: 1,
    models: [{ id: 'llama-2-7b-chat', kind: 'llm' }],
    limits: {
      max_frame_bytes: 8388608,
      max_text_chars: 16384,
      max_audio_chunk_bytes: 65536,
      max_image_bytes: 6291456,
      resume_window_ms: 30000,
      replay_frames: 16384,
    },
    expires_in_ms: 3600000,
  }),
  server('pong', 'Answer to ping, echoing ts.', { t: 'pong', seq: 2, ts: 1712345678901 }),
  server('vad', 'Speech started 1.24 s after audio.start.', { t: 'vad', seq: 3, event: 'speech_start', at_ms: 1240 }),
  server('asr.partial', 'Partial transcript: stable prefix and revisable tail.', {
    t: 'asr.partial',
    seq: 4,
    stable: 'show me the',
    unstable: ' cat in',
  }),
  server('asr.final', 'Final transcript that starts voice turn v1.', {
    t: 'asr.final',
    seq: 5,
    text: 'Show me the cat in this picture.',
    language: 'en',
    turn: 'v1',
  }),
  server('asr.lag', '320 ms of audio dropped because ASR fell behind.', {
    t: 'asr.lag',
    seq: 6,
    dropped_ms: 320,
    total_dropped_ms: 960,
  }),
  server('intent.update', 'Incremental intent with keywords.', {
    t: 'intent.update',
    seq: 7,
    turn: 'v1',
    labels: [
      { label: 'segment', score: 0.82 },
      { label: 'vqa', score: 0.15 },
    ],
    stable: true,
    keywords: ['cat', 'picture'],
  }),
  server('plan.step', 'First step of a chain-of-thought plan.', {
    t: 'plan.step',
    seq: 8,
    turn: 'v1',
    index: 0,
    text: 'Locate every cat in the image.',
  }),
  server('turn.started', 'Turn t1 started on a chat model.', {
    t: 'turn.started',
    seq: 9,
    turn: 't1',
    kind: 'chat',
    model: 'llama-2-7b-chat',
  }),
  server('gen.token', 'One token.', { t: 'gen.token', seq: 10, turn: 't1', i: 0, n: 1, text: 'The' }),
  server('gen.token_unicode', 'Non-ASCII text (UTF-8 on the wire).', {
    t: 'gen.token',
    seq: 11,
    turn: 't1',
    i: 1,
    n: 1,
    text: 'héllo 世界',
  }),
  server('gen.token_coalesced', 'Three tokens coalesced while the socket was backpressured.', {
    t: 'gen.token',
    seq: 12,
    turn: 't1',
    i: 2,
    n: 3,
    text: ' capital is',
  }),
  server('gen.done', 'Turn t1 finished at the end-of-sequence token.', {
    t: 'gen.done',
    seq: 13,
    turn: 't1',
    finish: 'eos_token',
    tokens: 7,
    ttft_ms: 182.5,
    total_ms: 412,
    text: 'The capital of France is Paris.',
  }),
  server('detect.boxes', 'Two detections in a 480x640 image.', {
    t: 'detect.boxes',
    seq: 14,
    turn: 'v1',
    image: 'img1',
    size: [480, 640],
    boxes: [
      { id: 0, label: 'cat', score: 0.91, box: [12, 40, 300, 410] },
      { id: 1, label: 'cat', score: 0.57, box: [320.5, 88, 630, 470.25] },
    ],
  }),
  server('mask.frame', 'COCO RLE of a 3x4 mask, column-major [2 zeros, 6 ones, 4 zeros] = counts "264".', {
    t: 'mask.frame',
    seq: 15,
    turn: 'v1',
    id: 0,
    label: 'cat',
    score: 0.91,
    rle: { size: [3, 4], counts: '264' },
  }),
  server('turn.cancelled', 'Turn t2 cancelled by barge-in.', { t: 'turn.cancelled', seq: 16, turn: 't2', reason: 'barge_in' }),
  server('turn.cancelled_max_session', 'Turn t9 was still running when the session reached its maximum duration.', { t: 'turn.cancelled', seq: 415, turn: 't9', reason: 'max_session' }),
  server('turn.metrics', 'Timings of a voice turn (ms since end of speech) and its counters.', {
    t: 'turn.metrics',
    seq: 17,
    turn: 'v1',
    marks: { speech_end: 0, asr_final: 140, intent_stable: 95, first_token: 310, first_box: 420, first_mask: 505, done: 980 },
    counts: { tokens: 42, boxes: 2, masks: 2, spec_committed: 1, spec_discarded: 0, retries: 0 },
  }),
  server('error', 'A non-fatal error about a turn.start field.', {
    t: 'error',
    seq: 18,
    code: 'INPUT_PARAM_OUT_OF_RANGE',
    message: '`top_p` must be > 0 and < 1',
    retryable: false,
    fatal: false,
    turn: 't3',
    ref: 'turn.start',
  }),
  server('error_fatal', 'A fatal error: the server closes with 4008 right after it.', {
    t: 'error',
    seq: 19,
    code: 'SESSION_SLOW_CONSUMER',
    message: 'the outbox overflowed with frames that cannot be dropped',
    retryable: true,
    fatal: true,
  }),
  server('goaway', 'The gateway shuts down in 10 s.', { t: 'goaway', seq: 20, reason: 'shutdown', time_left_ms: 10000 }),
  server('goaway_max_session', 'The session reaches its maximum duration in 60 s.', { t: 'goaway', seq: 412, reason: 'max_session', time_left_ms: 60000 }),
];
