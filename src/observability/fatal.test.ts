// Uncaught failures are logged without their message and end the process through one orderly stop.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installFatalHandlers, safeErrorFields } from './fatal.ts';
import { captureLog } from './log-capture.testkit.ts';


describe('fatal handlers', () => {
  it('safeErrorFields keeps type, code and frames, never the message', () => {
    let err: unknown;
    try {
      JSON.parse('{"my secret transcript": ');
    } catch (e) {
      err = e;
    }
    const f = safeErrorFields(err);
    expect(f.type).toBe('SyntaxError');
    expect(f.frames).toMatch(/^\s+at /);
    expect(JSON.stringify(f)).not.toContain('secret');
    expect(safeErrorFields(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code).toBe('ECONNRESET');
    expect(safeErrorFields('a string')).toEqual({ type: 'string' });
    expect(safeErrorFields(null)).toEqual({ type: 'null' });
  });

  it('an uncaught exception or unhandled rejection is logged safely and stops the process once', () => {
    const proc = new EventEmitter();
    const { log, lines } = captureLog();
    const stops: string[] = [];
    installFatalHandlers(proc, log, (reason) => stops.push(reason));
    proc.emit('uncaughtException', new TypeError('lemma "the user said this" is not a function'));
    proc.emit('unhandledRejection', new Error('second failure quoting "more user text"'));
    expect(stops).toEqual(['uncaughtException']);
    const logged = lines();
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 60, reason: 'uncaughtException', error: { type: 'TypeError' } });
    expect(logged[1]).toMatchObject({ reason: 'unhandledRejection', error: { type: 'Error' } });
    expect(JSON.stringify(logged)).not.toContain('user');
  });
});
