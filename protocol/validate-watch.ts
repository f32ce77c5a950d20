// Validation of watch.start / watch.stop (SPEC.md section 9b): shape, types and ranges. Labels are
// trimmed and lower-cased here, so the session compares them as the client will read them back.
import { checkKeys, invalid, longerThan, optId, optInt, optNum, optStr, put, reqArray, reqId, tooLarge, type Rec } from './fields.ts';
import type { ProtocolLimits } from './limits.ts';
import type { WatchStartMsg, WatchStopMsg } from './messages.ts';

/** Watch limits of vlp.v1 (fixed by the protocol, not configurable). */
export const WATCH_LIMITS = {
  maxLabels: 8,
  maxLabelChars: 64,
  intervalMs: { min: 250, max: 60_000, default: 1000 },
  frames: { min: 1, max: 10 },
  enterFramesDefault: 1,
  leaveFramesDefault: 2,
  maxAskChars: 1024,
  cooldownMs: { min: 1000, max: 3_600_000, default: 10_000 },
} as const;

const START_KEYS: ReadonlySet<string> = new Set([
  't', 'id', 'labels', 'interval_ms', 'box_threshold', 'enter_frames', 'leave_frames', 'ask', 'cooldown_ms', 'frame_prefix',
]);
const STOP_KEYS: ReadonlySet<string> = new Set(['t', 'id']);

function optIntIn(o: Rec, key: string, where: string, min: number, max: number): number | undefined {
  const v = optInt(o, key, where);
  if (v !== undefined && (v < min || v > max)) throw invalid(`${where}.${key}`, `must be an integer from ${min} to ${max}`);
  return v;
}

function labelsOf(o: Rec, where: string): string[] {
  const list = reqArray(o, 'labels', where, WATCH_LIMITS.maxLabels);
  if (list.length === 0) throw invalid(`${where}.labels`, 'must name at least one label');
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = `${where}.labels[${i}]`;
    const raw = list[i];
    if (typeof raw !== 'string') throw invalid(path, 'must be a string');
    // Bounded before the regular expressions run (a frame holds at most max_frame_bytes anyway).
    if (longerThan(raw, 4 * WATCH_LIMITS.maxLabelChars)) throw tooLarge(path, `is longer than ${WATCH_LIMITS.maxLabelChars} characters`);
    // GroundingDINO separates phrases with "." (protocol/GROUNDED-SAM.md): a label holds none.
    const label = raw.replace(/\./g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
    if (longerThan(label, WATCH_LIMITS.maxLabelChars)) throw tooLarge(path, `is longer than ${WATCH_LIMITS.maxLabelChars} characters`);
    if (label === '') throw invalid(path, 'must contain a word');
    if (out.includes(label)) throw invalid(path, 'repeats another label');
    out.push(label);
  }
  return out;
}

export function watchStart(o: Rec, limits: ProtocolLimits): WatchStartMsg {
  const t = 'watch.start';
  checkKeys(o, START_KEYS, t);
  const msg: WatchStartMsg = { t, id: reqId(o, 'id', t, limits.maxIdChars), labels: labelsOf(o, t) };
  put(msg, 'interval_ms', optIntIn(o, 'interval_ms', t, WATCH_LIMITS.intervalMs.min, WATCH_LIMITS.intervalMs.max));
  const threshold = optNum(o, 'box_threshold', t);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) throw invalid(`${t}.box_threshold`, 'must be between 0 and 1 (exclusive)');
  put(msg, 'box_threshold', threshold);
  put(msg, 'enter_frames', optIntIn(o, 'enter_frames', t, WATCH_LIMITS.frames.min, WATCH_LIMITS.frames.max));
  put(msg, 'leave_frames', optIntIn(o, 'leave_frames', t, WATCH_LIMITS.frames.min, WATCH_LIMITS.frames.max));
  const ask = optStr(o, 'ask', t, WATCH_LIMITS.maxAskChars);
  if (ask !== undefined && ask.trim() === '') throw invalid(`${t}.ask`, 'must not be empty (leave it out for events only)');
  put(msg, 'ask', ask);
  put(msg, 'cooldown_ms', optIntIn(o, 'cooldown_ms', t, WATCH_LIMITS.cooldownMs.min, WATCH_LIMITS.cooldownMs.max));
  put(msg, 'frame_prefix', optId(o, 'frame_prefix', t, limits.maxIdChars));
  return msg;
}

export function watchStop(o: Rec, limits: ProtocolLimits): WatchStopMsg {
  const t = 'watch.stop';
  checkKeys(o, STOP_KEYS, t);
  return { t, id: reqId(o, 'id', t, limits.maxIdChars) };
}
