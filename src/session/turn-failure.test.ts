// An unexpected turn failure is logged without its message or its causes' (they can quote the
// prompt, the transcript or the generated text): only type, code and stack frames.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { Session } from './session.ts';
import type { TurnRun } from './turn.ts';
import { reportTurnFailure } from './turn-failure.ts';
import { captureLog } from '../observability/log-capture.testkit.ts';

interface Sent {
  code: string;
  message: string;
}

function fakeSession(): { s: Session; sent: Sent[]; lines: () => Record<string, unknown>[]; raw: () => string } {
  // pino's defaults, as createLogger: an `err` key would go through the std err serializer.
  const { log, lines, raw } = captureLog();
  const sent: Sent[] = [];
  const s = {
    id: 'sess-1',
    ctx: { log },
    send: () => undefined,
    sendError: (code: string, message: string) => void sent.push({ code, message }),
  } as unknown as Session;
  return { s, sent, raw, lines };
}

const run = (): TurnRun => ({ id: 'turn-1', controller: new AbortController(), startedAt: 0, cancelReason: undefined });

describe('reportTurnFailure', () => {
  it('logs an unexpected failure as type, code and frames, never its message or its cause', () => {
    const { s, sent, lines, raw } = fakeSession();
    let parseError: unknown;
    try {
      JSON.parse('my secret prompt about the patient');
    } catch (e) {
      parseError = e;
    }
    const err = Object.assign(new TypeError('cannot read "my secret answer"', { cause: parseError }), { code: 'ERR_SOMETHING' });
    expect(reportTurnFailure(s, run(), err)).toEqual({ outcome: 'error', code: 'SERVER_INTERNAL' });
    const logged = lines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, session: 'sess-1', turn: 'turn-1', msg: 'turn failed unexpectedly', error: { type: 'TypeError', code: 'ERR_SOMETHING' } });
    expect((logged[0]?.error as { frames?: string }).frames).toMatch(/^\s+at /);
    expect(logged[0]).not.toHaveProperty('err');
    expect(raw()).not.toContain('secret');
    expect(sent).toEqual([{ code: 'SERVER_INTERNAL', message: 'unexpected gateway fault; the session goes on' }]);
  });

  it('a VlpError goes to the client and is not logged', () => {
    const { s, sent, raw } = fakeSession();
    expect(reportTurnFailure(s, run(), new VlpError('UPSTREAM_RESET', 'TGI stream ended without a final event'))).toEqual({ outcome: 'error', code: 'UPSTREAM_RESET' });
    expect(sent).toEqual([{ code: 'UPSTREAM_RESET', message: 'TGI stream ended without a final event' }]);
    expect(raw()).toBe('');
  });
});
