// One user session: options, dialogue history, the running turn and the outbox. Outlives its
// connection for resume_window_ms so a client can reconnect and replay what it missed.
import type { ClientMessage, ServerPayload, TurnStartMsg, CancelReason } from '../../protocol/messages.ts';
import { VlpError, type ErrorCode, ERRORS } from '../../protocol/errors.ts';
import type { GatewayContext } from './context.ts';
import { Outbox, type OutboxSink } from './outbox.ts';
import { DialogueHistory } from './history.ts';
import { applyOptions, defaultOptions, limitsOf, type ResolvedOptions } from './options.ts';
import { newResumeToken, newSessionId } from './ids.ts';
import { checkGenParams, mergeParams } from '../backends/params.ts';
import { runTextTurn, type TurnRun } from './turn.ts';

const MAX_REMEMBERED_TURN_IDS = 256;

export type SessionState = 'active' | 'detached' | 'closed';

export interface SessionHost {
  /** Called when the outbox overflows (slow consumer) so the connection can be closed. */
  onSlowConsumer(session: Session): void;
  /** Called once when the session ends. */
  onClosed(session: Session): void;
}

export class Session {
  readonly id = newSessionId();
  readonly resumeToken = newResumeToken();
  readonly outbox: Outbox;
  readonly history: DialogueHistory;
  state: SessionState = 'active';
  options: ResolvedOptions;
  turn: TurnRun | undefined;
  /** performance.now() of the last client message, or of the detach. */
  lastActivity = performance.now();
  /** The turn promise of the running turn, for shutdown waits and tests. */
  turnDone: Promise<void> | undefined;
  private readonly seenTurnIds = new Set<string>();

  constructor(readonly ctx: GatewayContext, private readonly host: SessionHost) {
    const { limits } = ctx.config;
    this.outbox = new Outbox({
      maxFrames: limits.outboxMaxFrames,
      replayFrames: limits.replayFrames,
      onOverflow: () => host.onSlowConsumer(this),
    });
    this.history = new DialogueHistory(limits.historyChars);
    this.options = defaultOptions(ctx.config);
  }

  attach(sink: OutboxSink): void {
    this.state = 'active';
    this.lastActivity = performance.now();
    this.outbox.attach(sink);
  }

  detach(): void {
    if (this.state !== 'active') return;
    this.state = 'detached';
    this.lastActivity = performance.now();
    this.outbox.detach();
  }

  send(p: ServerPayload): void {
    this.outbox.push(p);
  }

  sendError(code: ErrorCode, message: string, extra: { turn?: string; ref?: string; retryable?: boolean } = {}): void {
    const spec = ERRORS[code];
    this.ctx.metrics.errorsTotal.inc({ code });
    const frame: ServerPayload = {
      t: 'error',
      code,
      message,
      retryable: extra.retryable ?? spec.retryable,
      fatal: 'close' in spec,
      ...(extra.turn !== undefined ? { turn: extra.turn } : {}),
      ...(extra.ref !== undefined ? { ref: extra.ref } : {}),
    };
    if ('close' in spec) this.outbox.pushNow(frame);
    else this.outbox.push(frame);
  }

  updateOptions(o: NonNullable<Extract<ClientMessage, { t: 'session.update' }>['options']>): void {
    this.options = applyOptions(this.options, o, this.ctx.config, (id) => this.ctx.models.get(id) !== undefined);
  }

  startTurn(msg: TurnStartMsg): void {
    const ref = 'turn.start';
    if (this.turn) return this.sendError('TURN_BUSY', `turn ${this.turn.id} is still running; cancel it or wait for its end`, { turn: msg.id, ref });
    if (this.seenTurnIds.has(msg.id)) return this.sendError('TURN_ID_REUSED', 'turn.start.id was already used in this session', { turn: msg.id, ref });
    const text = msg.text.trim();
    if (text.length === 0) return this.sendError('INPUT_TEXT_EMPTY', 'turn.start.text is empty', { turn: msg.id, ref });
    const modelId = msg.model ?? this.options.model;
    const entry = this.ctx.models.get(modelId);
    if (!entry) return this.sendError('INPUT_MODEL_UNKNOWN', 'turn.start.model is not a configured model (see ready.models)', { turn: msg.id, ref });
    if (msg.image !== undefined) {
      return this.sendError('PROTO_NOT_IMPLEMENTED', 'image turns are not served by this build yet', { turn: msg.id, ref });
    }
    let params;
    try {
      params = checkGenParams(mergeParams(entry.config.params, this.options.params, msg.params), limitsOf(this.ctx.config));
    } catch (err) {
      if (err instanceof VlpError) return this.sendError(err.code, err.message, { turn: msg.id, ref });
      throw err;
    }
    this.rememberTurnId(msg.id);
    const run: TurnRun = {
      id: msg.id,
      controller: new AbortController(),
      startedAt: performance.now(),
      cancelReason: undefined,
    };
    this.turn = run;
    const messages = this.history.messagesFor(this.options.systemPrompt, text);
    this.turnDone = runTextTurn(this, run, entry, messages, params, text).finally(() => {
      if (this.turn === run) this.turn = undefined;
    });
  }

  /** Cancel the running turn; returns false when `id` does not name it. */
  cancelTurn(id: string | undefined, reason: CancelReason): boolean {
    const run = this.turn;
    if (!run || (id !== undefined && id !== run.id)) return false;
    if (run.cancelReason === undefined) {
      run.cancelReason = reason;
      run.controller.abort();
    }
    return true;
  }

  close(reason: CancelReason): void {
    if (this.state === 'closed') return;
    this.cancelTurn(undefined, reason);
    this.state = 'closed';
    this.host.onClosed(this);
  }

  private rememberTurnId(id: string): void {
    this.seenTurnIds.add(id);
    if (this.seenTurnIds.size > MAX_REMEMBERED_TURN_IDS) {
      const oldest = this.seenTurnIds.values().next().value;
      if (oldest !== undefined) this.seenTurnIds.delete(oldest);
    }
  }
}
