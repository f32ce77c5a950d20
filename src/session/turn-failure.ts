// How every kind of turn ends when its work throws: turn.cancelled when the turn was cancelled
// (its upstream request is already closed), else a typed error frame for the turn.
import { VlpError } from '../../protocol/errors.ts';
import { safeErrorFields } from '../observability/fatal.ts';
import type { Session } from './session.ts';
import type { TurnRun } from './turn.ts';

export function reportTurnFailure(s: Session, run: TurnRun, err: unknown): { outcome: 'cancelled' | 'error'; code?: string } {
  const turn = run.id;
  if (run.controller.signal.aborted) {
    s.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
    return { outcome: 'cancelled' };
  }
  if (err instanceof VlpError) {
    s.sendError(err.code, err.message, { turn, ref: 'turn.start', retryable: err.retryable });
    return { outcome: 'error', code: err.code };
  }
  // Never `err` itself: its message (and its causes') can quote the prompt or the answer.
  s.ctx.log.error({ session: s.id, turn, error: safeErrorFields(err) }, 'turn failed unexpectedly');
  s.sendError('SERVER_INTERNAL', 'unexpected gateway fault; the session goes on', { turn, ref: 'turn.start' });
  return { outcome: 'error', code: 'SERVER_INTERNAL' };
}
