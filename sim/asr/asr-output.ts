// whisper-asr-webservice's output writers (shared/reference/backend-protocols.md §6), byte for byte:
// the openai_whisper engine uses openai-whisper's whisper/utils.py writers (options max_line_width
// 1000, max_line_count 10, highlight_words false), the faster_whisper engine the service's own
// app/utils.py writers (word timings ignored). JSON is Python's json.dump of the engine's result.
import type { Transcription } from './clip-book.ts';
import { pyJson, PyFloat } from './pyjson.ts';

export type AsrEngine = 'openai_whisper' | 'faster_whisper';

/** A segment as the engine returns it (seconds, already rounded as the engine rounds). */
export interface EngineSegment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  words?: { word: string; start: number; end: number; probability: number }[];
}

export interface EngineResult {
  text: string;
  language: string;
  segments: EngineSegment[];
}

/** Round to 2 decimals like Python's round(x, 2) on the values Whisper produces. */
function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Whisper timestamps are multiples of 0.02 s. */
function ts(x: number): number {
  return r2(Math.round(x / 0.02) * 0.02);
}

function tokenIds(text: string, seed: number): number[] {
  const out: number[] = [];
  for (const piece of text.match(/ ?[^\s]+/g) ?? []) {
    let h = seed >>> 0;
    for (let i = 0; i < piece.length; i++) h = Math.imul(h ^ piece.charCodeAt(i), 0x01000193) >>> 0;
    out.push(220 + (h % 50_000));
  }
  return out;
}

/** The engine's result for a simulated transcription. */
export function engineResult(t: Transcription, wordTimestamps: boolean): EngineResult {
  const segments: EngineSegment[] = t.segments.map((s, i) => {
    const start = ts(s.start);
    const end = Math.max(ts(s.end), start + 0.02);
    const seek = Math.floor(start / 30) * 3000;
    const rel = (x: number): number => 50364 + Math.round((x - seek / 100) / 0.02);
    const seg: EngineSegment = {
      id: i,
      seek,
      start,
      end: r2(end),
      text: s.text,
      tokens: [rel(start), ...tokenIds(s.text, i + 1), rel(end)],
      temperature: 0,
      avg_logprob: -r2(0.12 + (((i + 1) * 0.0917) % 0.3)),
      compression_ratio: r2(0.8 + Math.min(0.7, s.text.length / 200)),
      no_speech_prob: r2(0.005 + ((i * 0.013) % 0.05)),
    };
    if (wordTimestamps) seg.words = s.words.map((w) => ({ word: w.word, start: r2(w.start), end: r2(w.end), probability: w.probability }));
    return seg;
  });
  return { text: segments.map((s) => s.text).join(''), language: t.language, segments };
}

/** openai-whisper's format_timestamp. */
export function formatTimestamp(seconds: number, alwaysIncludeHours = false, decimalMarker = '.'): string {
  let ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  ms -= h * 3_600_000;
  const m = Math.floor(ms / 60_000);
  ms -= m * 60_000;
  const s = Math.floor(ms / 1000);
  ms -= s * 1000;
  const hours = alwaysIncludeHours || h > 0 ? `${String(h).padStart(2, '0')}:` : '';
  return `${hours}${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${decimalMarker}${String(ms).padStart(3, '0')}`;
}

type Cue = [start: string, end: string, text: string];

/** openai-whisper SubtitlesWriter.iterate_result with the service's options. */
function openaiCues(r: EngineResult, hours: boolean, marker: string): Cue[] {
  const fmt = (x: number): string => formatTimestamp(x, hours, marker);
  const segs = r.segments;
  if (segs.length === 0 || segs[0]?.words === undefined) {
    return segs.map((s) => [fmt(s.start), fmt(s.end), s.text.trim().replace(/-->/g, '->')]);
  }
  // Words present: max_line_width 1000, max_line_count 10 → preserve_segments false; subtitles
  // break on a pause over 3 s or after 10 lines (lines break at 1000 characters).
  const maxWidth = 1000;
  const maxLines = 10;
  const cues: Cue[] = [];
  let lineLen = 0;
  let lineCount = 1;
  let subtitle: { word: string; start: number; end: number }[] = [];
  let last = segs.find((s) => (s.words ?? []).length > 0)?.words?.[0]?.start ?? segs[0]?.start ?? 0;
  const emit = (): void => {
    const first = subtitle[0];
    const lastW = subtitle[subtitle.length - 1];
    if (first && lastW) cues.push([fmt(first.start), fmt(lastW.end), subtitle.map((w) => w.word).join('')]);
  };
  for (const seg of segs) {
    for (const original of seg.words ?? []) {
      const timing = { ...original };
      const longPause = timing.start - last > 3.0;
      const hasRoom = lineLen + timing.word.length <= maxWidth;
      if (lineLen > 0 && hasRoom && !longPause) {
        lineLen += timing.word.length;
      } else {
        timing.word = timing.word.trim();
        if (subtitle.length > 0 && (longPause || lineCount >= maxLines)) {
          emit();
          subtitle = [];
          lineCount = 1;
        } else if (lineLen > 0) {
          lineCount += 1;
          timing.word = `\n${timing.word}`;
        }
        lineLen = timing.word.trim().length;
      }
      subtitle.push(timing);
      last = timing.start;
    }
  }
  if (subtitle.length > 0) emit();
  return cues;
}

/** The response body for `output` (anything not vtt/srt/tsv/json is txt, as in the service). */
export function writeOutput(engine: AsrEngine, r: EngineResult, output: string): string {
  switch (output) {
    case 'srt': {
      const cues = engine === 'openai_whisper' ? openaiCues(r, true, ',') : r.segments.map((s): Cue => [formatTimestamp(s.start, true, ','), formatTimestamp(s.end, true, ','), s.text.trim().replace(/-->/g, '->')]);
      return cues.map(([a, b, t], i) => `${i + 1}\n${a} --> ${b}\n${t}\n\n`).join('');
    }
    case 'vtt': {
      const cues = engine === 'openai_whisper' ? openaiCues(r, false, '.') : r.segments.map((s): Cue => [formatTimestamp(s.start), formatTimestamp(s.end), s.text.trim().replace(/-->/g, '->')]);
      return `WEBVTT\n\n${cues.map(([a, b, t]) => `${a} --> ${b}\n${t}\n\n`).join('')}`;
    }
    case 'tsv':
      return `start\tend\ttext\n${r.segments.map((s) => `${Math.round(1000 * s.start)}\t${Math.round(1000 * s.end)}\t${s.text.trim().replace(/\t/g, ' ')}\n`).join('')}`;
    case 'json':
      return engine === 'openai_whisper' ? pyJson(openaiJson(r)) : pyJson(fasterJson(r));
    default:
      return r.segments.map((s) => `${s.text.trim()}\n`).join('');
  }
}

function openaiJson(r: EngineResult): unknown {
  return {
    text: r.text,
    segments: r.segments.map((s) => ({
      id: s.id,
      seek: s.seek,
      start: new PyFloat(s.start),
      end: new PyFloat(s.end),
      text: s.text,
      tokens: s.tokens,
      temperature: new PyFloat(s.temperature),
      avg_logprob: new PyFloat(s.avg_logprob),
      compression_ratio: new PyFloat(s.compression_ratio),
      no_speech_prob: new PyFloat(s.no_speech_prob),
      words: s.words?.map((w) => ({ word: w.word, start: new PyFloat(w.start), end: new PyFloat(w.end), probability: new PyFloat(w.probability) })),
    })),
    language: r.language,
  };
}

function fasterJson(r: EngineResult): unknown {
  return {
    language: r.language,
    segments: r.segments.map((s) => ({
      id: s.id + 1, // faster-whisper numbers segments from 1
      seek: s.seek,
      start: new PyFloat(s.start),
      end: new PyFloat(s.end),
      text: s.text,
      tokens: s.tokens,
      avg_logprob: new PyFloat(s.avg_logprob),
      compression_ratio: new PyFloat(s.compression_ratio),
      no_speech_prob: new PyFloat(s.no_speech_prob),
      words: s.words === undefined ? null : s.words.map((w) => ({ start: new PyFloat(w.start), end: new PyFloat(w.end), word: w.word, probability: new PyFloat(w.probability) })),
      temperature: new PyFloat(s.temperature),
    })),
    text: r.text,
  };
}
