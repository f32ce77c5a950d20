// The ASR admission gate (gate.ts) on a scripted backend and a hand-driven clock: which failures
// hold new streams, that held opens never reach the backend, one trial at a time, the backoff, the
// service's own wait, stale verdicts, and release.
import { describe, expect, it } from 'vitest';
import { VlpError, type ErrorCode } from '../../../protocol/errors.ts';
import { gateAsrBackend, type AsrGateEvents, type GatedAsrBackend } from './gate.ts';
import type { AsrBackend, AsrEvent, AsrHandlers, AsrStream } from './port.ts';

/** A backend whose streams the test drives: it records each open and lets the test fire events. */
class DrivenAsr implements AsrBackend {
  readonly id = 'driven';
  readonly capabilities: { livePartials: boolean; translate: boolean; readySignal?: boolean };
  readonly streams: { handlers: AsrHandlers; closed: boolean; written: number }[] = [];
  /** Probe calls, and how the next probe answers (batch backends' trial). */
  probes = 0;
  probeAnswer: () => Promise<boolean> = () => Promise.resolve(true);
  throwOnOpen = false;

  constructor(readySignal = true) {
    this.capabilities = readySignal ? { livePartials: true, translate: false, readySignal: true } : { livePartials: false, translate: true };
  }

  open(_opts: unknown, handlers: AsrHandlers): AsrStream {
    if (this.throwOnOpen) throw new Error('adapter bug');
    const s = { handlers, closed: false, written: 0 };
    this.streams.push(s);
    return {
      write: (samples) => {
        s.written += samples.length;
        return true;
      },
      onDrain: () => undefined,
      speechStart: () => undefined,
      speechEnd: () => undefined,
      close: () => {
        s.closed = true;
      },
    };
  }

  fail(i: number, code: ErrorCode, retryAfterS?: number): void {
    this.at(i).handlers.onEvent({ kind: 'error', error: new VlpError(code, `driven ${code}`, retryAfterS === undefined ? {} : { retryAfterS }) });
  }

  ready(i: number): void {
    this.at(i).handlers.onReady?.();
  }

  partial(i: number): void {
    this.at(i).handlers.onEvent({ kind: 'partial', stable: 'hello', unstable: '' });
  }

  private at(i: number): DrivenAsr['streams'][number] {
    const s = this.streams[i];
    if (!s) throw new Error(`no stream ${i}`);
    return s;
  }

  probe(): Promise<boolean> {
    this.probes++;
    return this.probeAnswer();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Rig {
  inner: DrivenAsr;
  gated: GatedAsrBackend;
  clock: { t: number };
  log: string[];
  /** Opens a stream and collects its events. */
  open(): { stream: AsrStream; events: AsrEvent[] };
}

function rig(opts: { random?: number; holdBaseMs?: number; holdMaxMs?: number; trialMs?: number; batch?: boolean } = {}): Rig {
  const inner = new DrivenAsr(opts.batch !== true);
  const clock = { t: 1000 };
  const log: string[] = [];
  const events: AsrGateEvents = {
    held: (code, ms, failures) => log.push(`held ${code} ${Math.round(ms)} ${failures}`),
    released: (failures) => log.push(`released ${failures}`),
    refused: (code) => log.push(`refused ${code}`),
  };
  const gated = gateAsrBackend(inner, {
    holdBaseMs: opts.holdBaseMs ?? 1000,
    holdMaxMs: opts.holdMaxMs ?? 8000,
    trialMs: opts.trialMs ?? 5000,
    spreadMs: 1000,
    now: () => clock.t,
    random: () => opts.random ?? 1,
    events,
  });
  return {
    inner,
    gated,
    clock,
    log,
    open() {
      const evs: AsrEvent[] = [];
      const stream = gated.open({ task: 'transcribe' }, { onEvent: (ev) => evs.push(ev) });
      return { stream, events: evs };
    },
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function heldError(events: AsrEvent[]): VlpError {
  const ev = events[0];
  if (events.length !== 1 || ev?.kind !== 'error') throw new Error(`expected one error event, got ${JSON.stringify(events)}`);
  return ev.error;
}

describe('ASR gate', () => {
  it('lets every open through while the recognizer is healthy, and passes events on', () => {
    const r = rig();
    const a = r.open();
    const b = r.open();
    expect(r.inner.streams).toHaveLength(2);
    r.inner.ready(0);
    r.inner.partial(1);
    expect(b.events).toEqual([{ kind: 'partial', stable: 'hello', unstable: '' }]);
    expect(a.events).toEqual([]);
    expect(r.gated.gate).toMatchObject({ failures: 0, holding: false });
    expect(r.log).toEqual([]);
  });

  it('holds new streams after a failed open: they fail at once with the cause and never reach the backend', async () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    expect(r.log).toEqual(['held UPSTREAM_UNAVAILABLE 1000 1']);
    expect(r.gated.gate).toMatchObject({ failures: 1, holding: true });

    r.clock.t += 400;
    const held = r.open();
    expect(r.inner.streams).toHaveLength(1); // no connection attempt
    expect(held.events).toEqual([]); // not inside open(): the session has not stored the stream yet
    expect(held.stream.write(new Int16Array(320))).toBe(true);
    await flush();
    const err = heldError(held.events);
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    // 600 ms of hold left, plus up to spreadMs (random() = 1 here) so sessions come back spread out.
    expect(err.retryAfterS).toBeCloseTo(1.6, 5);
    expect(err.message).toMatch(/^driven UPSTREAM_UNAVAILABLE; new recognizer streams are held for about 1 s more after 1 failed attempt$/);
    expect(r.log).toContain('refused UPSTREAM_UNAVAILABLE');
  });

  it('a held stream closed before its microtask emits nothing', async () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_OVERLOADED');
    const held = r.open();
    held.stream.close();
    await flush();
    expect(held.events).toEqual([]);
  });

  it('after the hold lets one trial through; others are refused until it proves itself, then all pass', async () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    const trial = r.open();
    expect(r.inner.streams).toHaveLength(2);
    const other = r.open();
    expect(r.inner.streams).toHaveLength(2);
    await flush();
    expect(heldError(other.events).message).toMatch(/held while the service is tested/);
    expect(heldError(other.events).retryAfterS).toBeCloseTo(1, 5);
    expect(r.gated.gate.holding).toBe(true);

    r.inner.ready(1); // WhisperLive SERVER_READY
    expect(trial.events).toEqual([]);
    expect(r.log.at(-1)).toBe('released 1');
    expect(r.gated.gate).toMatchObject({ failures: 0, holding: false });
    r.open();
    r.open();
    expect(r.inner.streams).toHaveLength(4);
  });

  it('a transcript from the trial releases too', () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_TIMEOUT');
    r.clock.t += 1000;
    r.open();
    r.inner.partial(1);
    expect(r.log.at(-1)).toBe('released 1');
  });

  it('doubles the hold with each failed trial, up to holdMaxMs', () => {
    const r = rig({ holdMaxMs: 4000 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    for (let i = 1; i <= 4; i++) {
      r.clock.t += 10_000;
      r.open();
      r.inner.fail(i, 'UPSTREAM_UNAVAILABLE');
    }
    expect(r.log.filter((l) => l.startsWith('held'))).toEqual([
      'held UPSTREAM_UNAVAILABLE 1000 1',
      'held UPSTREAM_UNAVAILABLE 2000 2',
      'held UPSTREAM_UNAVAILABLE 4000 3',
      'held UPSTREAM_UNAVAILABLE 4000 4',
      'held UPSTREAM_UNAVAILABLE 4000 5',
    ]);
  });

  it('jitters each hold in [d/2, d]', () => {
    const r = rig({ random: 0 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_RESET');
    expect(r.log).toEqual(['held UPSTREAM_RESET 500 1']);
  });

  it('holds as long as the service asked when that is longer than the backoff, up to holdMaxMs', async () => {
    const r = rig({ holdMaxMs: 30_000 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_OVERLOADED', 20);
    expect(r.log).toEqual(['held UPSTREAM_OVERLOADED 20000 1']);
    r.clock.t += 19_000;
    const held = r.open();
    await flush();
    expect(r.inner.streams).toHaveLength(1);
    expect(heldError(held.events).retryAfterS).toBeCloseTo(2, 5);
    // WhisperLive's WAIT of 5 min holds everyone for holdMaxMs only: a client leaving frees a slot.
    r.clock.t += 1000;
    r.open();
    r.inner.fail(1, 'UPSTREAM_OVERLOADED', 300);
    expect(r.log.at(-1)).toBe('held UPSTREAM_OVERLOADED 30000 2');
  });

  it('keeps a refused cause\'s retryable verdict', async () => {
    const r = rig();
    r.open();
    r.inner.streams[0]?.handlers.onEvent({ kind: 'error', error: new VlpError('UPSTREAM_TIMEOUT', 'slow', { retryable: false }) });
    const held = r.open();
    await flush();
    expect(heldError(held.events).retryable).toBe(false);
  });

  it('a late verdict of a trial from before a release or a new hold changes nothing', () => {
    const r = rig({ trialMs: 3000 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    r.open(); // trial 1 (stream 1), never answers in time
    r.clock.t += 3000;
    r.open(); // trial 2 (stream 2)
    r.inner.ready(2);
    expect(r.log.at(-1)).toBe('released 1');
    r.inner.fail(1, 'UPSTREAM_TIMEOUT'); // trial 1 times out after the release: no new hold
    expect(r.gated.gate).toMatchObject({ failures: 0, holding: false });
    expect(r.log.filter((l) => l.startsWith('held'))).toHaveLength(1);
  });

  it('a new hold clears the trial slot: after it the next open is the trial at once', () => {
    const r = rig({ trialMs: 3000 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    r.open(); // trial 1 (stream 1)
    r.clock.t += 3000;
    r.open(); // trial 2 (stream 2)
    r.inner.fail(1, 'UPSTREAM_RESET'); // trial 1 fails late, same episode: holds again (2 s)
    expect(r.log.at(-1)).toBe('held UPSTREAM_RESET 2000 2');
    r.clock.t += 2000;
    r.open(); // not refused behind trial 2: the hold ended, this is the trial
    expect(r.inner.streams).toHaveLength(4);
  });

  it('an adapter that throws in open() does not take the trial slot', () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    r.inner.throwOnOpen = true;
    expect(() => r.open()).toThrow(/adapter bug/);
    r.inner.throwOnOpen = false;
    r.open();
    expect(r.inner.streams).toHaveLength(2);
  });

  it('does not hold for failures about the request, and such a trial frees the slot', async () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_REJECTED');
    r.open();
    r.inner.fail(1, 'UPSTREAM_PROTOCOL');
    expect(r.log).toEqual([]);
    r.open();
    r.inner.fail(2, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    r.open(); // the trial
    r.inner.fail(3, 'UPSTREAM_REJECTED');
    expect(r.gated.gate.failures).toBe(1);
    r.open(); // the slot is free: the next open is the trial
    expect(r.inner.streams).toHaveLength(5);
  });

  it('ignores a failure after the stream delivered something (DISCONNECT, mid-stream reset)', () => {
    const r = rig();
    r.open();
    r.inner.ready(0);
    r.inner.fail(0, 'UPSTREAM_RESET');
    r.open();
    r.inner.partial(1);
    r.inner.fail(1, 'UPSTREAM_UNAVAILABLE');
    expect(r.log).toEqual([]);
    expect(r.gated.gate.holding).toBe(false);
  });

  it('counts the streams that fail together as one failure, and a stale stream neither escalates nor releases', () => {
    const r = rig();
    for (let i = 0; i < 5; i++) r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    for (let i = 1; i < 4; i++) r.inner.fail(i, 'UPSTREAM_UNAVAILABLE');
    expect(r.log).toEqual(['held UPSTREAM_UNAVAILABLE 1000 1']);
    r.inner.ready(4); // opened before the hold began: says nothing about opening now
    expect(r.gated.gate).toMatchObject({ failures: 1, holding: true });
  });

  it('a trial closed before its verdict, or silent past trialMs, lets the next open be the trial', () => {
    const r = rig({ trialMs: 3000 });
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    const first = r.open();
    first.stream.close();
    expect(r.inner.streams[1]?.closed).toBe(true);
    r.open(); // trial 2
    expect(r.inner.streams).toHaveLength(3);
    r.open(); // refused: trial 2 is pending
    expect(r.inner.streams).toHaveLength(3);
    r.clock.t += 3000;
    r.open(); // trial 2 never answered: trial 3
    expect(r.inner.streams).toHaveLength(4);
    r.inner.ready(2); // the late trial still counts: same episode
    expect(r.log.at(-1)).toBe('released 1');
  });

  it('the trial stream passes audio and utterance calls through to the backend', () => {
    const r = rig();
    r.open();
    r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
    r.clock.t += 1000;
    const trial = r.open();
    expect(trial.stream.write(new Int16Array(320))).toBe(true);
    expect(r.inner.streams[1]?.written).toBe(320);
  });

  describe('a batch backend (no ready signal): the probe is the trial', () => {
    it('probes once when the hold ends, refuses meanwhile, and a healthy probe releases', async () => {
      const r = rig({ batch: true });
      r.open();
      r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
      r.clock.t += 1000;
      let answer: (ok: boolean) => void = () => undefined;
      r.inner.probeAnswer = () => new Promise((res) => (answer = res));
      const a = r.open();
      const b = r.open();
      expect(r.inner.probes).toBe(1);
      expect(r.inner.streams).toHaveLength(1); // no stream opened as a trial
      await flush();
      expect(heldError(a.events).message).toMatch(/held while the service is tested/);
      expect(heldError(b.events).code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.gated.gate.holding).toBe(true);
      answer(true);
      await flush();
      expect(r.log.at(-1)).toBe('released 1');
      r.open();
      expect(r.inner.streams).toHaveLength(2);
    });

    it('an unhealthy, failing or hanging probe holds again with the next backoff step', async () => {
      const r = rig({ batch: true, trialMs: 20 });
      r.open();
      r.inner.fail(0, 'UPSTREAM_UNAVAILABLE');
      r.clock.t += 1000;
      r.inner.probeAnswer = () => Promise.resolve(false);
      r.open();
      await flush();
      expect(r.log.at(-1)).toBe('held UPSTREAM_UNAVAILABLE 2000 2');
      r.clock.t += 2000;
      r.inner.probeAnswer = () => Promise.reject(new Error('ECONNREFUSED'));
      r.open();
      await flush();
      expect(r.log.at(-1)).toBe('held UPSTREAM_UNAVAILABLE 4000 3');
      r.clock.t += 4000;
      r.inner.probeAnswer = () => new Promise<boolean>(() => undefined); // never answers
      r.open();
      await expect.poll(() => r.log.at(-1), { timeout: 1000, interval: 5 }).toBe('held UPSTREAM_UNAVAILABLE 8000 4');
      expect(r.inner.probes).toBe(3);
    });
  });
});
