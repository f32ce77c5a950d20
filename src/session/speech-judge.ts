// Whether spoken input is the user's bid for the turn: a backchannel said while the assistant
// speaks (options.ignore_backchannels, backchannel.ts) or the assistant's own voice coming back
// through the microphone (options.echo_guard, echo-guard.ts) is not. Judged against what the
// session has said: the answer streaming now and the latest one that ended, assumed to be played
// from its first token at echo-guard.ts's speaking rate.
import type { Config } from '../config/schema.ts';
import { backchannelPhrases, isBackchannel } from './backchannel.ts';
import { judgeEcho as judgeEchoOf, playbackPosition, speakingMs, type EchoSource, type EchoVerdict } from './echo-guard.ts';
import type { ResolvedOptions } from './options.ts';
import type { TurnRun } from './turn.ts';

/** Spoken input that does not take the turn: the assistant's own voice, or a backchannel. */
export type IgnoredSpeech = 'echo' | 'backchannel';
export type SpeechVerdict = IgnoredSpeech | 'user' | 'unsure';

export function isIgnored(v: SpeechVerdict): v is IgnoredSpeech {
  return v === 'echo' || v === 'backchannel';
}

/** What the judgement reads of its session. */
export interface SpeechContext {
  readonly ctx: { readonly config: Config };
  readonly options: ResolvedOptions;
  readonly turn: TurnRun | undefined;
  readonly recentAnswer: { text: string; startedAt: number; endedAt: number } | undefined;
}

/** The configured backchannel phrases as word sequences (one config per process in practice). */
let cachedPhrases: { source: readonly string[]; words: string[][] } | undefined;

function phrasesOf(config: Config): string[][] {
  const phrases = config.audio.backchannels.phrases;
  if (cachedPhrases?.source !== phrases) cachedPhrases = { source: phrases, words: backchannelPhrases(phrases) };
  return cachedPhrases.words;
}

/** An answer streams, or the latest one may still be playing. */
function assistantSpeaking(s: SpeechContext, now: number): boolean {
  if (s.turn?.spoken !== undefined) return true;
  const recent = s.recentAnswer;
  return recent !== undefined && now <= Math.max(recent.endedAt, recent.startedAt + speakingMs(recent.text));
}

/** A backchannel while the assistant speaks, the assistant's own voice, or the user's words;
 *  `tail`: judge only the transcript's last words (a partial's barge-in check). */
export function judgeSpeech(s: SpeechContext, transcript: string, tail?: number): SpeechVerdict {
  if (s.options.ignoreBackchannels && assistantSpeaking(s, performance.now()) && isBackchannel(transcript, phrasesOf(s.ctx.config))) return 'backchannel';
  return judgeEcho(s, transcript, tail);
}

/** Is this transcript the assistant's own voice coming back (echo_guard)? 'user' when the guard
 *  is off or nothing was said lately: the running answer always counts, an ended one until
 *  audio.echoGuard.windowMs after it would have been spoken whole. */
export function judgeEcho(s: SpeechContext, transcript: string, tail?: number): EchoVerdict {
  const cfg = s.ctx.config.audio.echoGuard;
  if (!s.options.echoGuard) return 'user';
  const now = performance.now();
  const sources: EchoSource[] = [];
  const run = s.turn;
  const running = run?.spoken?.();
  if (run && running !== undefined && running.length > 0) sources.push({ text: running, position: playbackPosition(now - run.startedAt) });
  const recent = s.recentAnswer;
  if (recent && now <= Math.max(recent.endedAt, recent.startedAt + speakingMs(recent.text)) + cfg.windowMs) {
    sources.push({ text: recent.text, position: playbackPosition(now - recent.startedAt) });
  }
  return sources.length === 0 ? 'user' : judgeEchoOf(transcript, sources, cfg, tail);
}
