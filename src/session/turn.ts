// Runs one text turn: streams the model's tokens to the outbox as gen.token frames, then ends
// with exactly one of gen.done, turn.cancelled or error, followed by turn.metrics. The gateway
// bounds every answer itself (answer cap below): a backend that ignores max_new_tokens, or gets
// none, is cut off after the cap and the turn ends with gen.done finish 'length'.
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
}

type Outcome = 'done' | 'cancelled' | 'error';

/** Thrown by the token sink when the answer cap is reached. consumeEvents() then closes the
 *  backend stream as a consumer leaving early — every adapter destroys its upstream request then
 *  (the port's contract), as a turn.cancel's abort does — and rethrows it; runTextTurn catches it
 *  and ends the turn normally. Never escapes this module. */
const CAP_REACHED = new Error('the answer reached the gateway cap');

/** Tokens one answer may have: the request's max_new_tokens when set (the backend was asked for
 *  it too), else the gateway's ceiling limits.maxNewTokens (which is not sent: a backend's own
 *  limit, e.g. TGI's max_total_tokens − input, may be lower and a larger value is refused). */
function answerCap(params: GenParams, maxNewTokens: number): number {
  return params.max_new_tokens ?? maxNewTokens;
}

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
  let upstreamTokens = 0;
  let firstAt = -1;
  let outcome: Outcome;
  let errorCode: string | undefined;
  const cap = answerCap(params, s.ctx.config.limits.maxNewTokens);
  // When the cap ends an answer its text is not rebuilt: keeping every token's text for that case
  // would hold each answer's strings for the whole turn (old-generation growth and longer
  // scavenges on the token path); the client has the text from the gen.token frames.
  let capped = false;
  try {
    let finish: FinishReason = 'error';
    let text = '';
    if (prepare) await prepare();
    // Push mode where the backend offers it (push-drain.ts): each token is relayed inside the
    // backend socket's data callback.
    try {
      await consumeEvents(entry.backend.generate({ messages, params, signal: run.controller.signal, onRetry }), (ev) => {
        if (ev.kind === 'token') {
          // Token cap + 1 means the backend ignored the limit; a backend that honours it sends its
          // final event after token cap, which ends the answer with its own finish and text.
          if (upstreamTokens === cap) {
            capped = true;
            throw CAP_REACHED;
          }
          upstreamTokens++;
          if (ev.special || ev.text.length === 0) return;
          if (firstAt < 0) firstAt = performance.now();
          s.send({ t: 'gen.token', turn, i: visible, n: 1, text: ev.text });
          visible++;
          if (ev.recvAt !== undefined) relay.observe((performance.now() - ev.recvAt) / 1000);
        } else {
          finish = ev.finish;
          text = ev.generatedText;
          upstreamTokens = ev.tokens;
        }
      });
    } catch (err) {
      if (err !== CAP_REACHED || !capped) throw err;
      // The upstream request is closed (consumeEvents left the stream): gen.done without text, and
      // the exchange stays out of the dialogue history (its answer is not known whole).
      finish = 'length';
    }
    const now = performance.now();
    const answer = stripStop(text, params.stop).trim();
    if (!capped) s.history.add(userText, answer);
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
  }
  const end = performance.now();
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
