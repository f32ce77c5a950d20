// How the CLI reports the end of a turn on stderr, and its exit code.
import { describe, expect, it } from 'vitest';
import { EXIT } from './cli-io.ts';
import { turnSummary } from './cli-output.ts';

function summary(msg: Parameters<typeof turnSummary>[0]): { lines: string[]; code: number } {
  const lines: string[] = [];
  const code = turnSummary(msg, (l) => lines.push(l));
  return { lines, code };
}

describe('turnSummary', () => {
  it('a barge-in is reported as an interruption, not an error; other cancels stay errors', () => {
    expect(summary({ t: 'turn.cancelled', seq: 9, turn: 'v1', reason: 'barge_in' })).toEqual({ lines: ['interrupted: new speech cut this answer off (barge-in)'], code: EXIT.ERROR });
    expect(summary({ t: 'turn.cancelled', seq: 9, turn: 'v1', reason: 'shutdown' })).toEqual({ lines: ['error TURN_CANCELLED: the server cancelled the turn (shutdown)'], code: EXIT.ERROR });
    expect(summary({ t: 'turn.cancelled', seq: 9, turn: 'v1', reason: 'max_session' })).toEqual({
      lines: ['error SESSION_EXPIRED: the session reached its maximum duration before the answer ended; ask again'],
      code: EXIT.ERROR,
    });
  });

  it('gen.done gives its figures and exit 0', () => {
    expect(summary({ t: 'gen.done', seq: 5, turn: 't', finish: 'eos_token', tokens: 3, ttft_ms: 12, total_ms: 40, text: 'abc' })).toEqual({ lines: ['finish=eos_token tokens=3 ttft_ms=12 total_ms=40'], code: EXIT.OK });
  });
});
