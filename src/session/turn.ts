// Runs one text turn: streams the model's tokens to the outbox as gen.token frames, then ends
// with exactly one of gen.done, turn.cancelled or error, followed by turn.metrics. The gateway
// bounds every answer itself: the registry's backends are held to the token cap
// (backends/token-cap.ts), so a backend that ignores max_new_tokens, or gets none, is cut off
// after the cap, its request closed, and the turn ends with gen.done finish 'length'. (`entry`
// is the registry's, or replays a speculative stream of the registry's backend: speculation.ts.)
import type { CancelReason, FinishReason, GenParams, TurnKind } from '../../protocol/messages.ts';
import { reportTurnFailure } from './turn-failure.ts';
import { sendTurnMetrics } from './turn-metrics.ts';
import { consumeEvents } from '../backends/push-drain.ts';
import type { ChatMessage } from '../backends/ports.ts';
import type { ModelEntry } from '../models.ts';
import type { Session } from './session.ts';

export interface TurnRun {
  id: string;
  controller: AbortController;
  /** performance.now() when turn.start was accepted. */
  startedAt: number;
  cancelReason: CancelReason | undefined;
  /** Voice turns: performance.now() of the final transcript (startedAt is then the end of speech). */
  asrFinalAt?: number;
  /** Voice turns: performance.now() when the intent on partial transcripts became stable. */
  intentStableAt?: number;
  /** Speculative calls of the utterance committed / discarded by this turn. */
  spec?: { committed: number; discarded: number };
  /** The answer text streamed so far (gen.token texts joined), while a text turn streams: what the
   *  client may be playing aloud now (echo guard). */
  spoken?: () => string;
}

type Outcome = 'done' | 'cancelled' | 'error';

/** Remove a trailing stop sequence that TGI keeps in generated_text. */
function stripStop(text: string, stop: readonly string[] | undefined): string {
  if (!stop) return text;
  for (const s of stop) if (s.length > 0 && text.endsWith(s)) return text.slice(0, -s.length);
  return text;
}

export async function runTextTurn(
  s: Session,
  run: TurnRun,
  entry: ModelEntry,
  messages: ChatMessage[],
  params: GenParams,
  userText: string,
  kind: TurnKind,
  /** Work after turn.started and before the request (chain-of-thought planning); may edit `messages`. */
  prepare?: () => Promise<void>,
): Promise<void> {
  const { metrics, log } = s.ctx;
  const relay = metrics.tokenRelaySeconds;
  const turn = run.id;
  s.send({ t: 'turn.started', turn, kind, model: entry.config.id });
  let retries = 0;
  const onRetry = (): void => {
    retries++;
  };
  let visible = 0;
  /** The gen.token texts, joined, for playback.truncate (playback.ts) and the echo guard. */
  let streamed = '';
  run.spoken = () => streamed;
  let upstreamTokens = 0;
  let firstAt = -1;
  let outcome: Outcome;
  let errorCode: string | undefined;
  // The token cap ended the answer (a done event with `capped`): its text is not rebuilt (the
  // client has it from the gen.token frames) and the exchange stays out of the dialogue history.
  let capped = false;
  try {
    let finish: FinishReason = 'error';
    let text = '';
    if (prepare) await prepare();
    // Push mode where the backend offers it (push-drain.ts): each token is relayed inside the
    // backend socket's data callback.
    await consumeEvents(entry.backend.generate({ messages, params, signal: run.controller.signal, onRetry }), (ev) => {
      if (ev.kind === 'token') {
        upstreamTokens++;
        if (ev.special || ev.text.length === 0) return;
        if (firstAt < 0) firstAt = performance.now();
        s.send({ t: 'gen.token', turn, i: visible, n: 1, text: ev.text });
        streamed += ev.text;
        visible++;
        if (ev.recvAt !== undefined) relay.observe((performance.now() - ev.recvAt) / 1000);
      } else {
        finish = ev.finish;
        text = ev.generatedText;
        upstreamTokens = ev.tokens;
        capped = ev.capped === true;
      }
    });
    const now = performance.now();
    const answer = stripStop(text, params.stop).trim();
    if (capped) s.lastAnswer = undefined; // kept out of the history, and not truncatable into it
    else s.lastAnswer = { turn, user: userText, streamed, exchange: s.history.add(userText, answer), kept: answer };
    s.send({
      t: 'gen.done',
      turn,
      finish,
      tokens: upstreamTokens,
      ttft_ms: firstAt < 0 ? -1 : round(firstAt - run.startedAt),
      total_ms: round(now - run.startedAt),
      text: answer,
    });
    outcome = 'done';
  } catch (err) {
    ({ outcome, code: errorCode } = reportTurnFailure(s, run, err));
    // Cancelled (a barge-in) or failed mid-answer: out of the history unless the client says what
    // was heard (playback.truncate).
    s.lastAnswer = { turn, user: userText, streamed, exchange: undefined, kept: undefined };
  }
  const end = performance.now();
  if (streamed.length > 0) s.recentAnswer = { text: streamed, startedAt: firstAt, endedAt: end };
  sendTurnMetrics(
    s,
    run,
    { ...(firstAt >= 0 ? { first_token: round(firstAt - run.startedAt) } : {}), done: round(end - run.startedAt) },
    { tokens: upstreamTokens, boxes: 0, masks: 0, retries },
  );
  metrics.turnsTotal.inc({ outcome });
  metrics.upstreamRequestsTotal.inc({ model: entry.config.id, outcome: errorCode ?? outcome });
  if (visible > 0) metrics.tokensTotal.inc(visible);
  if (firstAt >= 0) metrics.ttftSeconds.observe((firstAt - run.startedAt) / 1000);
  metrics.turnSeconds.observe((end - run.startedAt) / 1000);
  log.debug({ session: s.id, turn, outcome, code: errorCode, tokens: upstreamTokens, ms: round(end - run.startedAt) }, 'turn ended');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
