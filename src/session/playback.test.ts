// playback.truncate on the dialogue history (playback.ts, history.ts rewrite): the heard prefix in
// code points, a kept answer rewritten, a cancelled one added, repeated truncations, eviction.
import { describe, expect, it } from 'vitest';
import { DialogueHistory } from './history.ts';
import { truncateHeard, type LastAnswer } from './playback.ts';

const msg = (heard: number): { t: 'playback.truncate'; turn: string; heard_chars: number } => ({ t: 'playback.truncate', turn: 't1', heard_chars: heard });

function done(h: DialogueHistory, parts: string[], kept = parts.join('').trim()): LastAnswer {
  const exchange = h.add('tell me', kept);
  return { turn: 't1', user: 'tell me', streamed: parts.join(''), exchange, kept };
}

const answers = (h: DialogueHistory): string[] => h.messagesFor('', 'next').filter((m) => m.role === 'assistant').map((m) => m.content as string);

describe('playback.truncate', () => {
  it('keeps only the heard prefix of a finished answer, and truncates again from the whole text', () => {
    const h = new DialogueHistory(10_000);
    const last = done(h, [' Paris', ' is the', ' capital', ' of France.']);
    truncateHeard(h, last, msg(13));
    expect(answers(h)).toEqual(['Paris is the']);
    truncateHeard(h, last, msg(21));
    expect(answers(h)).toEqual(['Paris is the capital']);
    truncateHeard(h, last, msg(1000)); // all of it heard after all: the whole answer again
    expect(answers(h)).toEqual(['Paris is the capital of France.']);
  });

  it('counts code points, never splitting a surrogate pair', () => {
    const h = new DialogueHistory(10_000);
    const last = done(h, ['🙂🙂', ' ok']);
    truncateHeard(h, last, msg(1));
    expect(answers(h)).toEqual(['🙂']);
  });

  it('adds the heard part of a cancelled answer, and nothing when none was heard', () => {
    const h = new DialogueHistory(10_000);
    const cancelled: LastAnswer = { turn: 't1', user: 'tell me', streamed: ' Once upon a time', exchange: undefined, kept: undefined };
    truncateHeard(h, cancelled, msg(0));
    expect(h.size).toBe(0);
    truncateHeard(h, cancelled, msg(10));
    expect(answers(h)).toEqual(['Once upon']);
    truncateHeard(h, cancelled, msg(5)); // now kept: rewritten, not added twice
    expect(answers(h)).toEqual(['Once']);
    expect(h.size).toBe(1);
  });

  it('never keeps more than the answer as first kept (a stop sequence streamed at the end)', () => {
    const h = new DialogueHistory(10_000);
    const last = done(h, [' Yes.', '</s>'], 'Yes.');
    const v = h.version;
    truncateHeard(h, last, msg(7)); // " Yes.</" heard: the stop sequence is not part of the answer
    expect(answers(h)).toEqual(['Yes.']);
    expect(h.version).toBe(v); // unchanged: no rewrite
    truncateHeard(h, last, msg(3));
    expect(answers(h)).toEqual(['Ye']);
    expect(h.version).toBe(v + 1); // a rewrite invalidates prompts built before it (speculation)
  });

  it('does nothing to an exchange the history no longer keeps', () => {
    const h = new DialogueHistory(60);
    const last = done(h, ['a long answer that fills the history']);
    h.add('another question', 'another long answer');
    expect(h.size).toBe(1); // the first was evicted
    truncateHeard(h, last, msg(3));
    expect(answers(h)).toEqual(['another long answer']);
  });
});
