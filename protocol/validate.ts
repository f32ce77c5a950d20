// Validation of decoded client frames into typed ClientMessages: shape, types and size limits
// only (ranges of generation parameters are checked by the session). Unknown fields are rejected.
import { copyBytes } from './byte-pool.ts';
import { decodeFailure, type DecodeResult } from './decode-result.ts';
import {
  FieldFault,
  checkKeys,
  invalid,
  isPlainMap,
  longerThan,
  optArray,
  optBin,
  optBool,
  optEnum,
  optId,
  optInt,
  optMap,
  optNum,
  optStr,
  put,
  reqCount,
  reqEnum,
  reqId,
  reqMap,
  reqNum,
  reqPositiveInt,
  reqStr,
  tooLarge,
  unknownField,
  type Rec,
} from './fields.ts';
import type { ProtocolLimits } from './limits.ts';
import type {
  AsrTask,
  AudioChunkMsg,
  AudioEncoding,
  AudioStartMsg,
  AudioFormat,
  ClientMessage,
  ClientMessageType,
  GenParams,
  HelloMsg,
  ImagePutMsg,
  SessionOptions,
  TurnCancelMsg,
  TurnStartMsg,
} from './messages.ts';
import { CLIENT_MESSAGE_TYPES } from './messages.ts';
import { watchStart, watchStop } from './validate-watch.ts';

export { type DecodeResult } from './decode-result.ts';
export { validateServerMessage } from './validate-server.ts';

const CLIENT_TYPES: ReadonlySet<string> = new Set(CLIENT_MESSAGE_TYPES);

function isClientType(t: string): t is ClientMessageType {
  return CLIENT_TYPES.has(t);
}

const keys = (...k: string[]): ReadonlySet<string> => new Set(['t', ...k]);
const fieldSet = (...k: string[]): ReadonlySet<string> => new Set(k);

const ASR_TASKS: ReadonlySet<AsrTask> = new Set<AsrTask>(['transcribe', 'translate']);
/** BCP-47-ish: "en", "zh", "yue", "pt-BR". */
const LANGUAGE_RE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/;

const HELLO_KEYS = keys('client', 'options', 'resume');
const RESUME_KEYS = fieldSet('session_id', 'token', 'last_seq');
const SESSION_UPDATE_KEYS = keys('options');
const AUDIO_START_KEYS = keys('format', 'language', 'task');
const AUDIO_END_KEYS = keys();
const IMAGE_PUT_KEYS = keys('id', 'data', 'url');
const TURN_START_KEYS = keys('id', 'text', 'image', 'model', 'params');
const TURN_CANCEL_KEYS = keys('id');
const ACK_KEYS = keys('seq');
const PLAYBACK_TRUNCATE_KEYS = keys('turn', 'heard_chars');
const PING_KEYS = keys('ts');
const FORMAT_KEYS = fieldSet('encoding', 'sample_rate', 'channels');
const OPTION_KEYS = fieldSet('system_prompt', 'model', 'plan', 'speculate', 'barge_in', 'echo_guard', 'ignore_backchannels', 'params');
const PARAM_KEYS = fieldSet(
  'max_new_tokens', 'temperature', 'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'stop', 'seed',
  'do_sample', 'truncate', 'watermark', 'best_of', 'return_full_text', 'decoder_input_details', 'details',
);

const ENCODINGS: ReadonlySet<AudioEncoding> = new Set<AudioEncoding>([
  'pcm16', 'f32', 'mulaw', 'opus', 'ogg_opus', 'webm_opus',
]);
const BARGE_IN: ReadonlySet<NonNullable<SessionOptions['barge_in']>> = new Set(['off', 'speech_start', 'first_words'] as const);

/**
 * Checks a decoded frame and returns a freshly built ClientMessage holding only known fields
 * (binary fields are copied). Never throws; error messages name fields, never their values.
 */
export function validateClientMessage(value: unknown, limits: ProtocolLimits): DecodeResult<ClientMessage> {
  if (!isPlainMap(value)) return decodeFailure('PROTO_MALFORMED', 'the frame is not a map');
  const t = value.t;
  if (typeof t !== 'string') return decodeFailure('PROTO_MALFORMED', 'the frame has no string field t');
  if (!isClientType(t)) return decodeFailure('PROTO_UNKNOWN_TYPE', 't is not a client message type of vlp.v1');
  try {
    return { ok: true, msg: build(t, value, limits) };
  } catch (e) {
    if (e instanceof FieldFault) return decodeFailure(e.code, e.message, t);
    throw e;
  }
}

function build(t: ClientMessageType, o: Rec, limits: ProtocolLimits): ClientMessage {
  switch (t) {
    case 'audio.chunk':
      return audioChunk(o, limits);
    case 'hello':
      return hello(o, limits);
    case 'session.update':
      checkKeys(o, SESSION_UPDATE_KEYS, t);
      return { t, options: sessionOptions(reqMap(o, 'options', t), `${t}.options`, limits) };
    case 'audio.start':
      return audioStart(o);
    case 'audio.end':
      checkKeys(o, AUDIO_END_KEYS, t);
      return { t };
    case 'image.put':
      return imagePut(o, limits);
    case 'turn.start':
      return turnStart(o, limits);
    case 'turn.cancel': {
      checkKeys(o, TURN_CANCEL_KEYS, t);
      const msg: TurnCancelMsg = { t };
      put(msg, 'id', optId(o, 'id', t, limits.maxIdChars));
      return msg;
    }
    case 'ack':
      checkKeys(o, ACK_KEYS, t);
      return { t, seq: reqCount(o, 'seq', t) };
    case 'playback.truncate':
      checkKeys(o, PLAYBACK_TRUNCATE_KEYS, t);
      return { t, turn: reqId(o, 'turn', t, limits.maxIdChars), heard_chars: reqCount(o, 'heard_chars', t) };
    case 'watch.start':
      return watchStart(o, limits);
    case 'watch.stop':
      return watchStop(o, limits);
    case 'ping':
      checkKeys(o, PING_KEYS, t);
      return { t, ts: reqNum(o, 'ts', t) };
    default: {
      const unreachable: never = t;
      return unreachable;
    }
  }
}

// The hot path (50 frames/s per speaking session): no helpers or closures; the only allocations are
// the result and the pooled copy of the audio bytes.
function audioChunk(o: Rec, limits: ProtocolLimits): AudioChunkMsg {
  for (const k in o) {
    if (k !== 't' && k !== 'data') throw unknownField('audio.chunk', k);
  }
  const data = o.data;
  if (data === undefined) throw invalid('audio.chunk.data', 'is required');
  if (!(data instanceof Uint8Array)) throw invalid('audio.chunk.data', 'must be binary');
  if (data.byteLength > limits.maxAudioChunkBytes) {
    throw new FieldFault('AUDIO_CHUNK_TOO_LARGE', `audio.chunk.data is larger than ${limits.maxAudioChunkBytes} bytes (max_audio_chunk_bytes)`);
  }
  return { t: 'audio.chunk', data: copyBytes(data) };
}

function hello(o: Rec, limits: ProtocolLimits): HelloMsg {
  const t = 'hello';
  checkKeys(o, HELLO_KEYS, t);
  const msg: HelloMsg = { t };
  put(msg, 'client', optStr(o, 'client', t, limits.maxIdChars));
  const options = optMap(o, 'options', t);
  if (options !== undefined) msg.options = sessionOptions(options, `${t}.options`, limits);
  const resume = optMap(o, 'resume', t);
  if (resume !== undefined) {
    const where = `${t}.resume`;
    checkKeys(resume, RESUME_KEYS, where);
    msg.resume = {
      session_id: reqId(resume, 'session_id', where, limits.maxIdChars),
      token: reqId(resume, 'token', where, limits.maxIdChars),
      last_seq: reqCount(resume, 'last_seq', where),
    };
  }
  return msg;
}

function imagePut(o: Rec, limits: ProtocolLimits): ImagePutMsg {
  const t = 'image.put';
  checkKeys(o, IMAGE_PUT_KEYS, t);
  const msg: ImagePutMsg = { t, id: reqId(o, 'id', t, limits.maxIdChars) };
  const data = optBin(o, 'data', t, limits.maxImageBytes);
  const url = optStr(o, 'url', t, limits.maxUrlChars);
  if ((data === undefined) === (url === undefined)) throw invalid(t, 'must have exactly one of data and url');
  put(msg, 'data', data);
  put(msg, 'url', url);
  return msg;
}

function turnStart(o: Rec, limits: ProtocolLimits): TurnStartMsg {
  const t = 'turn.start';
  checkKeys(o, TURN_START_KEYS, t);
  const msg: TurnStartMsg = {
    t,
    id: reqId(o, 'id', t, limits.maxIdChars),
    text: reqStr(o, 'text', t, limits.maxTextChars),
  };
  put(msg, 'image', optId(o, 'image', t, limits.maxIdChars));
  put(msg, 'model', optId(o, 'model', t, limits.maxIdChars));
  const params = optMap(o, 'params', t);
  if (params !== undefined) msg.params = genParams(params, `${t}.params`, limits);
  return msg;
}

function audioStart(o: Rec): AudioStartMsg {
  const t = 'audio.start';
  checkKeys(o, AUDIO_START_KEYS, t);
  const msg: AudioStartMsg = { t, format: audioFormat(reqMap(o, 'format', t), `${t}.format`) };
  const language = optStr(o, 'language', t, 16);
  if (language !== undefined && !LANGUAGE_RE.test(language)) throw invalid(`${t}.language`, 'must be a language code such as "en" or "zh" (2-3 letters, optional region)');
  put(msg, 'language', language);
  put(msg, 'task', optEnum(o, 'task', t, ASR_TASKS));
  return msg;
}

function audioFormat(o: Rec, where: string): AudioFormat {
  checkKeys(o, FORMAT_KEYS, where);
  return {
    encoding: reqEnum(o, 'encoding', where, ENCODINGS),
    sample_rate: reqPositiveInt(o, 'sample_rate', where),
    channels: reqPositiveInt(o, 'channels', where),
  };
}

function sessionOptions(o: Rec, where: string, limits: ProtocolLimits): SessionOptions {
  checkKeys(o, OPTION_KEYS, where);
  const out: SessionOptions = {};
  put(out, 'system_prompt', optStr(o, 'system_prompt', where, limits.maxSystemPromptChars));
  put(out, 'model', optId(o, 'model', where, limits.maxIdChars));
  put(out, 'plan', optBool(o, 'plan', where));
  put(out, 'speculate', optBool(o, 'speculate', where));
  put(out, 'barge_in', optEnum(o, 'barge_in', where, BARGE_IN));
  put(out, 'echo_guard', optBool(o, 'echo_guard', where));
  put(out, 'ignore_backchannels', optBool(o, 'ignore_backchannels', where));
  const params = optMap(o, 'params', where);
  if (params !== undefined) out.params = genParams(params, `${where}.params`, limits);
  return out;
}

/** Types only: ranges are the session's job (INPUT_PARAM_OUT_OF_RANGE). */
function genParams(o: Rec, where: string, limits: ProtocolLimits): GenParams {
  checkKeys(o, PARAM_KEYS, where);
  const p: GenParams = {};
  put(p, 'max_new_tokens', optInt(o, 'max_new_tokens', where));
  put(p, 'temperature', optNum(o, 'temperature', where));
  put(p, 'top_k', optInt(o, 'top_k', where));
  put(p, 'top_p', optNum(o, 'top_p', where));
  put(p, 'typical_p', optNum(o, 'typical_p', where));
  put(p, 'repetition_penalty', optNum(o, 'repetition_penalty', where));
  put(p, 'stop', stopList(o, where, limits));
  put(p, 'seed', optInt(o, 'seed', where));
  put(p, 'do_sample', optBool(o, 'do_sample', where));
  put(p, 'truncate', optInt(o, 'truncate', where));
  put(p, 'watermark', optBool(o, 'watermark', where));
  put(p, 'best_of', optInt(o, 'best_of', where));
  put(p, 'return_full_text', optBool(o, 'return_full_text', where));
  put(p, 'decoder_input_details', optBool(o, 'decoder_input_details', where));
  put(p, 'details', optBool(o, 'details', where));
  return p;
}

function stopList(o: Rec, where: string, limits: ProtocolLimits): string[] | undefined {
  const list = optArray(o, 'stop', where, limits.maxStopSequences);
  if (list === undefined) return undefined;
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (typeof s !== 'string') throw invalid(`${where}.stop[${i}]`, 'must be a string');
    if (longerThan(s, limits.maxStopChars)) throw tooLarge(`${where}.stop[${i}]`, `is longer than ${limits.maxStopChars} characters`);
    out.push(s);
  }
  return out;
}
