// Validation of decoded server frames into typed ServerMessages, for the client SDK and the golden
// vector tests. Checks t, seq and every field's type; unknown fields are dropped (forward-compatible).
import { decodeFailure, type DecodeResult } from './decode-result.ts';
import { ERRORS, type ErrorCode } from './errors.ts';
import {
  FieldFault,
  invalid,
  isMember,
  isPlainMap,
  optNum,
  optStr,
  put,
  reqArray,
  reqBool,
  reqCount,
  reqEnum,
  reqInt,
  reqMap,
  reqNum,
  reqPositiveInt,
  reqStr,
  type Rec,
} from './fields.ts';
import type {
  CancelReason,
  DetectionBox,
  ErrorMsg,
  FinishReason,
  IntentScore,
  IntentUpdateMsg,
  ModelInfo,
  ReadyMsg,
  ServerMessage,
  ServerMessageType,
  TurnKind,
  TurnMetricsMsg,
  WatchEventMsg,
  WatchTurnSkipped,
} from './messages.ts';
import { SERVER_MESSAGE_TYPES } from './messages.ts';

const SERVER_TYPES: ReadonlySet<string> = new Set(SERVER_MESSAGE_TYPES);
const ANY = Number.POSITIVE_INFINITY;

const MODEL_KINDS: ReadonlySet<ModelInfo['kind']> = new Set(['llm', 'vlm'] as const);
const VAD_EVENTS: ReadonlySet<'speech_start' | 'speech_end'> = new Set(['speech_start', 'speech_end'] as const);
const TURN_KINDS: ReadonlySet<TurnKind> = new Set<TurnKind>(['chat', 'vqa', 'segment', 'plan']);
const FINISH: ReadonlySet<FinishReason> = new Set<FinishReason>(['length', 'eos_token', 'stop_sequence', 'cancelled', 'error']);
const CANCEL: ReadonlySet<CancelReason> = new Set<CancelReason>([
  'client', 'barge_in', 'superseded', 'disconnect', 'shutdown', 'max_session', 'speculation_discarded', 'echo', 'backchannel',
]);
const GOAWAY: ReadonlySet<'shutdown' | 'max_session' | 'idle'> = new Set(['shutdown', 'max_session', 'idle'] as const);
const WATCH_KINDS: ReadonlySet<WatchEventMsg['kind']> = new Set(['enter', 'leave'] as const);
const WATCH_SKIPPED: ReadonlySet<WatchTurnSkipped> = new Set<WatchTurnSkipped>(['busy', 'cooldown', 'refused']);
const ERROR_CODE_SET: ReadonlySet<ErrorCode> = new Set(Object.keys(ERRORS) as ErrorCode[]);

function isServerType(t: string): t is ServerMessageType {
  return SERVER_TYPES.has(t);
}

/** Checks a decoded server frame and returns a freshly built ServerMessage. Never throws. */
export function validateServerMessage(value: unknown): DecodeResult<ServerMessage> {
  if (!isPlainMap(value)) return decodeFailure('PROTO_MALFORMED', 'the frame is not a map');
  const t = value.t;
  if (typeof t !== 'string') return decodeFailure('PROTO_MALFORMED', 'the frame has no string field t');
  if (!isServerType(t)) return decodeFailure('PROTO_UNKNOWN_TYPE', 't is not a server message type of vlp.v1');
  try {
    // seq 0 marks a frame sent outside any session (e.g. SERVER_AT_CAPACITY before ready).
    return { ok: true, msg: build(t, reqCount(value, 'seq', t), value) };
  } catch (e) {
    if (e instanceof FieldFault) return decodeFailure(e.code, e.message, t);
    throw e;
  }
}

function build(t: ServerMessageType, seq: number, o: Rec): ServerMessage {
  switch (t) {
    case 'ready':
      return ready(seq, o);
    case 'pong':
      return { t, seq, ts: reqNum(o, 'ts', t) };
    case 'vad':
      return { t, seq, event: reqEnum(o, 'event', t, VAD_EVENTS), at_ms: reqNum(o, 'at_ms', t) };
    case 'asr.partial':
      return { t, seq, stable: reqStr(o, 'stable', t, ANY), unstable: reqStr(o, 'unstable', t, ANY) };
    case 'asr.final': {
      const text = reqStr(o, 'text', t, ANY);
      const language = optStr(o, 'language', t, ANY);
      const turn = reqStr(o, 'turn', t, ANY);
      return language === undefined ? { t, seq, text, turn } : { t, seq, text, language, turn };
    }
    case 'asr.lag':
      return { t, seq, dropped_ms: reqNum(o, 'dropped_ms', t), total_dropped_ms: reqNum(o, 'total_dropped_ms', t) };
    case 'intent.update':
      return intentUpdate(seq, o);
    case 'plan.step':
      return { t, seq, turn: reqStr(o, 'turn', t, ANY), index: reqInt(o, 'index', t), text: reqStr(o, 'text', t, ANY) };
    case 'turn.started':
      return { t, seq, turn: reqStr(o, 'turn', t, ANY), kind: reqEnum(o, 'kind', t, TURN_KINDS), model: reqStr(o, 'model', t, ANY) };
    case 'gen.token':
      return { t, seq, turn: reqStr(o, 'turn', t, ANY), i: reqCount(o, 'i', t), n: reqPositiveInt(o, 'n', t), text: reqStr(o, 'text', t, ANY) };
    case 'gen.done':
      return {
        t,
        seq,
        turn: reqStr(o, 'turn', t, ANY),
        finish: reqEnum(o, 'finish', t, FINISH),
        tokens: reqCount(o, 'tokens', t),
        ttft_ms: reqNum(o, 'ttft_ms', t),
        total_ms: reqNum(o, 'total_ms', t),
        text: reqStr(o, 'text', t, ANY),
      };
    case 'detect.boxes':
      return {
        t,
        seq,
        turn: reqStr(o, 'turn', t, ANY),
        image: reqStr(o, 'image', t, ANY),
        size: pair(o, 'size', t),
        boxes: reqArray(o, 'boxes', t, ANY).map((b, i) => detectionBox(b, `${t}.boxes[${i}]`)),
      };
    case 'mask.frame': {
      const rle = reqMap(o, 'rle', t);
      return {
        t,
        seq,
        turn: reqStr(o, 'turn', t, ANY),
        id: reqInt(o, 'id', t),
        label: reqStr(o, 'label', t, ANY),
        score: reqNum(o, 'score', t),
        rle: { size: pair(rle, 'size', `${t}.rle`), counts: reqStr(rle, 'counts', `${t}.rle`, ANY) },
      };
    }
    case 'watch.event':
      return watchEvent(seq, o);
    case 'turn.cancelled':
      return { t, seq, turn: reqStr(o, 'turn', t, ANY), reason: reqEnum(o, 'reason', t, CANCEL) };
    case 'turn.metrics':
      return turnMetrics(seq, o);
    case 'error':
      return errorMsg(seq, o);
    case 'goaway':
      return { t, seq, reason: reqEnum(o, 'reason', t, GOAWAY), time_left_ms: reqNum(o, 'time_left_ms', t) };
    default: {
      const unreachable: never = t;
      return unreachable;
    }
  }
}

function ready(seq: number, o: Rec): ReadyMsg {
  const t = 'ready';
  const limits = reqMap(o, 'limits', t);
  const lw = `${t}.limits`;
  const msg: ReadyMsg = {
    t,
    seq,
    session_id: reqStr(o, 'session_id', t, ANY),
    resume_token: reqStr(o, 'resume_token', t, ANY),
    resumed: reqBool(o, 'resumed', t),
    protocol: reqPositiveInt(o, 'protocol', t),
    models: reqArray(o, 'models', t, ANY).map((m, i) => {
      const where = `${t}.models[${i}]`;
      const r = entry(m, where);
      return { id: reqStr(r, 'id', where, ANY), kind: reqEnum(r, 'kind', where, MODEL_KINDS) };
    }),
    limits: {
      max_frame_bytes: reqCount(limits, 'max_frame_bytes', lw),
      max_text_chars: reqCount(limits, 'max_text_chars', lw),
      max_audio_chunk_bytes: reqCount(limits, 'max_audio_chunk_bytes', lw),
      max_image_bytes: reqCount(limits, 'max_image_bytes', lw),
      resume_window_ms: reqCount(limits, 'resume_window_ms', lw),
      replay_frames: reqCount(limits, 'replay_frames', lw),
    },
  };
  if (o.expires_in_ms !== undefined) msg.expires_in_ms = reqCount(o, 'expires_in_ms', t);
  return msg;
}

function intentUpdate(seq: number, o: Rec): IntentUpdateMsg {
  const t = 'intent.update';
  const turn = optStr(o, 'turn', t, ANY);
  const labels = reqArray(o, 'labels', t, ANY).map((l, i): IntentScore => {
    const where = `${t}.labels[${i}]`;
    const r = entry(l, where);
    return { label: reqStr(r, 'label', where, ANY), score: reqNum(r, 'score', where) };
  });
  const stable = reqBool(o, 'stable', t);
  const keywords = reqArray(o, 'keywords', t, ANY).map((k, i) => {
    if (typeof k !== 'string') throw invalid(`${t}.keywords[${i}]`, 'must be a string');
    return k;
  });
  // Key order of the interface (turn, when present, before labels) keeps re-encoded bytes canonical.
  return turn === undefined ? { t, seq, labels, stable, keywords } : { t, seq, turn, labels, stable, keywords };
}

function turnMetrics(seq: number, o: Rec): TurnMetricsMsg {
  const t = 'turn.metrics';
  const m = reqMap(o, 'marks', t);
  const c = reqMap(o, 'counts', t);
  const mw = `${t}.marks`;
  const cw = `${t}.counts`;
  const marks: Partial<TurnMetricsMsg['marks']> = {};
  put(marks, 'speech_end', optNum(m, 'speech_end', mw));
  put(marks, 'asr_final', optNum(m, 'asr_final', mw));
  put(marks, 'intent_stable', optNum(m, 'intent_stable', mw));
  put(marks, 'first_token', optNum(m, 'first_token', mw));
  put(marks, 'first_box', optNum(m, 'first_box', mw));
  put(marks, 'first_mask', optNum(m, 'first_mask', mw));
  const done = reqNum(m, 'done', mw); // last, as in the interface
  return {
    t,
    seq,
    turn: reqStr(o, 'turn', t, ANY),
    marks: { ...marks, done },
    counts: {
      tokens: reqCount(c, 'tokens', cw),
      boxes: reqCount(c, 'boxes', cw),
      masks: reqCount(c, 'masks', cw),
      spec_committed: reqCount(c, 'spec_committed', cw),
      spec_discarded: reqCount(c, 'spec_discarded', cw),
      retries: reqCount(c, 'retries', cw),
    },
  };
}

function watchEvent(seq: number, o: Rec): WatchEventMsg {
  const t = 'watch.event';
  const msg: WatchEventMsg = {
    t,
    seq,
    watch: reqStr(o, 'watch', t, ANY),
    kind: reqEnum(o, 'kind', t, WATCH_KINDS),
    label: reqStr(o, 'label', t, ANY),
    count: reqCount(o, 'count', t),
    image: reqStr(o, 'image', t, ANY),
    size: pair(o, 'size', t),
    boxes: reqArray(o, 'boxes', t, ANY).map((b, i) => detectionBox(b, `${t}.boxes[${i}]`)),
  };
  put(msg, 'turn', optStr(o, 'turn', t, ANY));
  if (o.turn_skipped !== undefined) msg.turn_skipped = reqEnum(o, 'turn_skipped', t, WATCH_SKIPPED);
  return msg;
}

function errorMsg(seq: number, o: Rec): ErrorMsg {
  const t = 'error';
  const code = o.code;
  if (code === undefined) throw invalid(`${t}.code`, 'is required');
  if (!isMember(ERROR_CODE_SET, code)) throw invalid(`${t}.code`, 'must be an error code of protocol/errors.ts');
  const msg: ErrorMsg = {
    t,
    seq,
    code,
    message: reqStr(o, 'message', t, ANY),
    retryable: reqBool(o, 'retryable', t),
    fatal: reqBool(o, 'fatal', t),
  };
  put(msg, 'turn', optStr(o, 'turn', t, ANY));
  put(msg, 'ref', optStr(o, 'ref', t, ANY));
  return msg;
}

function detectionBox(v: unknown, where: string): DetectionBox {
  const r = entry(v, where);
  const box = reqArray(r, 'box', where, 4);
  if (box.length !== 4) throw invalid(`${where}.box`, 'must be [x0, y0, x1, y1]');
  return {
    id: reqInt(r, 'id', where),
    label: reqStr(r, 'label', where, ANY),
    score: reqNum(r, 'score', where),
    box: [num(box[0], `${where}.box`), num(box[1], `${where}.box`), num(box[2], `${where}.box`), num(box[3], `${where}.box`)],
  };
}

/** [height, width] in pixels. */
function pair(o: Rec, key: string, where: string): [number, number] {
  const a = reqArray(o, key, where, 2);
  const path = `${where}.${key}`;
  if (a.length !== 2) throw invalid(path, 'must be [height, width]');
  const h = a[0];
  const w = a[1];
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w)) throw invalid(path, 'must hold two integers');
  return [h as number, w as number];
}

function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(path, 'must hold finite numbers');
  return v;
}

function entry(v: unknown, where: string): Rec {
  if (!isPlainMap(v)) throw invalid(where, 'must be a map');
  return v;
}
