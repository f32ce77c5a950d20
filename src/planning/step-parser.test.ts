// Unit tests of the plan line parser: list markers, bounds, duplicates, tokens split anywhere.
import { describe, expect, it } from 'vitest';
import { PlanLineSplitter, PlanStepParser, boundText, checkMaxSteps, stripListMarker } from './step-parser.ts';
import type { PlanStep } from './step-parser.ts';

function feed(pieces: string[], opts: ConstructorParameters<typeof PlanLineSplitter>[0] = {}): { steps: PlanStep[]; perPiece: number[] } {
  const s = new PlanLineSplitter(opts);
  const steps: PlanStep[] = [];
  const perPiece: number[] = [];
  for (const p of pieces) {
    const got = s.push(p);
    perPiece.push(got.length);
    steps.push(...got);
  }
  steps.push(...s.end());
  return { steps, perPiece };
}

describe('stripListMarker', () => {
  it.each([
    ['1. Locate the cat', 'Locate the cat'],
    ['  2) Count the cats', 'Count the cats'],
    ['(3) Read the sign', 'Read the sign'],
    ['4: Compare sizes', 'Compare sizes'],
    ['10 - Check colours', 'Check colours'],
    ['Step 1: Find the door', 'Find the door'],
    ['Sub-task 2. Open it', 'Open it'],
    ['**3.** Look left', 'Look left'],
    ['- Look right', 'Look right'],
    ['* Look up', 'Look up'],
    ['• Look down', 'Look down'],
    ['- 5. Both', 'Both'],
    ['7.', ''],
  ])('%j → %j', (line, text) => {
    expect(stripListMarker(line)).toBe(text);
  });

  it.each(['Sure! Here are the sub-tasks:', '1.5 litres is the volume', '2020: a year', '3 apples are red', '**Note:** none', 'I hope this helps!', ''])(
    'is not a list item: %j',
    (line) => {
      expect(stripListMarker(line)).toBeUndefined();
    },
  );
});

describe('boundText', () => {
  it('keeps short text and cuts long text at a word boundary with an ellipsis', () => {
    expect(boundText('short', 20)).toBe('short');
    const cut = boundText('Look at the left side of the picture and describe every object there', 30);
    expect(cut.length).toBeLessThanOrEqual(30);
    expect(cut).toBe('Look at the left side of the…');
  });

  it('never splits a surrogate pair', () => {
    const cut = boundText(`${'a'.repeat(18)}😀😀😀😀`, 20);
    expect(cut.length).toBeLessThanOrEqual(20);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
  });
});

describe('PlanLineSplitter', () => {
  it('yields a step only when its line completes, whatever the token cuts', () => {
    const { steps, perPiece } = feed(['1', '.', ' Locate', ' the', ' cat', '\n', '2', '. Count', ' them\n3.', ' Describe', ' it']);
    expect(steps).toEqual([
      { index: 0, text: 'Locate the cat' },
      { index: 1, text: 'Count them' },
      { index: 2, text: 'Describe it' },
    ]);
    // Step 0 at the lone "\n", step 1 inside " them\n3.", step 2 only at the end.
    expect(perPiece).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
  });

  it('drops preamble, epilogue, prose, empty items and duplicates; handles CRLF', () => {
    const text = 'Sure! Here are the sub-tasks:\r\n\r\n1. Find the sign.\r\n2.   \r\n3. find  the SIGN\r\n4. Read it\r\n5. ...\r\nI hope this helps!';
    expect(feed([text]).steps).toEqual([
      { index: 0, text: 'Find the sign.' },
      { index: 1, text: 'Read it' },
    ]);
  });

  it('carries a marker alone on its line over to the next line (blank lines between are fine)', () => {
    expect(feed(['1.\n', '\nLook at the sky\n2. Name the clouds']).steps.map((s) => s.text)).toEqual(['Look at the sky', 'Name the clouds']);
  });

  it('stops at maxSteps and ignores the rest', () => {
    const s = new PlanLineSplitter({ maxSteps: 2 });
    expect(s.push('1. a1\n2. b2\n3. c3\n').map((x) => x.text)).toEqual(['a1', 'b2']);
    expect(s.full).toBe(true);
    expect(s.push('4. d4\n')).toEqual([]);
    expect(s.end()).toEqual([]);
  });

  it('bounds a line that never ends, and cuts long steps', () => {
    const s = new PlanLineSplitter({ maxStepChars: 40 });
    s.push('1. ');
    for (let i = 0; i < 10_000; i++) s.push('word ');
    const [step] = s.end();
    expect(step?.text.length).toBeLessThanOrEqual(40);
    expect(step?.text.endsWith('…')).toBe(true);
  });

  it('rejects a maxSteps outside 1..10', () => {
    expect(() => checkMaxSteps(0)).toThrow(RangeError);
    expect(() => checkMaxSteps(11)).toThrow(RangeError);
    expect(() => checkMaxSteps(2.5)).toThrow(RangeError);
    expect(checkMaxSteps(10)).toBe(10);
  });
});

describe('PlanStepParser (LangChain)', () => {
  it('invoke() parses a whole text', async () => {
    const parser = new PlanStepParser({ maxSteps: 3 });
    await expect(parser.invoke('Plan:\n1. a\n2. b\n3. c\n4. d')).resolves.toEqual([
      { index: 0, text: 'a' },
      { index: 1, text: 'b' },
      { index: 2, text: 'c' },
    ]);
  });

  it('stream() yields one [step] per completed line and stops reading at maxSteps', async () => {
    const seen: string[] = [];
    const parser = new PlanStepParser({ maxSteps: 2, onText: (d) => seen.push(d) });
    let pulled = 0;
    async function* pieces(): AsyncGenerator<string> {
      for (const p of ['1. a', 'a\n2', '. bb\n', '3. cc\n', '4. dd\n']) {
        pulled++;
        yield p;
      }
    }
    const out: PlanStep[][] = [];
    for await (const chunk of parser.transform(pieces(), {})) out.push(chunk);
    expect(out).toEqual([[{ index: 0, text: 'aa' }], [{ index: 1, text: 'bb' }]]);
    expect(pulled).toBe(3);
    expect(seen.join('')).toBe('1. aa\n2. bb\n');
  });
});
