// Uncaught failures are logged without their message and end the process through one orderly stop.
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { installFatalHandlers, safeErrorFields } from './fatal.ts';

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  return { log, lines: () => out.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

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
    const { log, lines } = capture();
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
