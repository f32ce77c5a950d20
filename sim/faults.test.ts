// Tests for fault selection: directive parsing, admin queue order and probability dice.
import { describe, expect, it } from 'vitest';
import { FaultInjector, parseFaultDirective, stripDirectives } from './faults.ts';

describe('fault directives', () => {
  it('parses kinds and an optional token count', () => {
    expect(parseFaultDirective('hi [[sim:fault=stall]] there')).toEqual({ kind: 'stall' });
    expect(parseFaultDirective('[[sim:fault=reset;after=5]]')).toEqual({ kind: 'reset', afterTokens: 5 });
    expect(parseFaultDirective('[[sim:fault=nope]]')).toBeUndefined();
    expect(parseFaultDirective('plain text')).toBeUndefined();
  });

  it('strips directives from text', () => {
    expect(stripDirectives('a [[sim:fault=stall]] b')).toBe('a   b');
  });
});

describe('FaultInjector', () => {
  it('prefers directives, then the queue, then the plan', () => {
    const f = new FaultInjector({ probabilities: { malformed: 1 } });
    f.enqueue('reset', 2, 1);
    expect(f.pick('x [[sim:fault=stall]]')).toMatchObject({ kind: 'stall', source: 'directive', afterTokens: 3 });
    expect(f.pick('x')).toMatchObject({ kind: 'reset', source: 'queue', afterTokens: 1 });
    expect(f.pending()).toEqual([{ kind: 'reset', remaining: 1, afterTokens: 1 }]);
    expect(f.pick('x')).toMatchObject({ kind: 'reset', source: 'queue' });
    expect(f.pick('x')).toMatchObject({ kind: 'malformed', source: 'plan' });
  });

  it('clears the queue', () => {
    const f = new FaultInjector();
    f.enqueue('stall', 3);
    f.enqueue('reset', 1);
    expect(f.clear()).toBe(4);
    expect(f.pick('x')).toBeUndefined();
  });

  it('rolls seeded dice at roughly the configured rate', () => {
    const f = new FaultInjector({ probabilities: { error_mid_stream: 0.25 }, seed: 7 });
    let hits = 0;
    for (let i = 0; i < 4000; i++) if (f.pick('x')) hits++;
    expect(hits / 4000).toBeGreaterThan(0.2);
    expect(hits / 4000).toBeLessThan(0.3);
  });
});
