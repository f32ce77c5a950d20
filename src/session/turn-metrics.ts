// The turn.metrics frame every kind of turn ends with: voice marks, the kind's own first-event
// marks, done, and its counts together with the utterance's speculation tallies.
import type { TurnMetricsMsg } from '../../protocol/messages.ts';
import type { Session } from './session.ts';
import type { TurnRun } from './turn.ts';

type VoiceMarks = Pick<TurnMetricsMsg['marks'], 'speech_end' | 'asr_final' | 'intent_stable'>;
/** The marks a turn measures itself (first_token, or first_box and first_mask), then done. */
export type TurnMarks = Omit<TurnMetricsMsg['marks'], keyof VoiceMarks>;
/** The counts a turn keeps itself (the speculation counts come from the run). */
export type TurnCounts = Pick<TurnMetricsMsg['counts'], 'tokens' | 'boxes' | 'masks' | 'retries'>;

/** turn.metrics marks of a voice turn: its end of speech (the turn's time 0) and final transcript. */
export function voiceMarks(run: TurnRun): VoiceMarks {
  if (run.asrFinalAt === undefined) return {};
  const rel = (t: number): number => Math.round((t - run.startedAt) * 100) / 100;
  return {
    speech_end: 0,
    asr_final: rel(run.asrFinalAt),
    // Negative when the intent held before the user stopped speaking.
    ...(run.intentStableAt !== undefined ? { intent_stable: rel(run.intentStableAt) } : {}),
  };
}

export function sendTurnMetrics(s: Session, run: TurnRun, marks: TurnMarks, counts: TurnCounts): void {
  s.send({
    t: 'turn.metrics',
    turn: run.id,
    marks: { ...voiceMarks(run), ...marks },
    counts: {
      tokens: counts.tokens,
      boxes: counts.boxes,
      masks: counts.masks,
      spec_committed: run.spec?.committed ?? 0,
      spec_discarded: run.spec?.discarded ?? 0,
      retries: counts.retries,
    },
  });
}
