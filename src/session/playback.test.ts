// playback.truncate on the dialogue history (playback.ts, history.ts rewrite): the heard prefix in
// code points, a kept answer rewritten, a cancelled one added, repeated truncations, eviction.
import { describe, expect, it } from 'vitest';
import { DialogueHistory } from './history.ts';
import { truncateHeard, type LastAnswer } from './playback.ts';

const msg = (heard: number): { t: 'playback.truncate'; turn: string; heard_chars: number } => ({ t: 'playback.truncate', turn: 't1', heard_chars: heard });

function done(h: DialogueHistory, parts: string[]): LastAnswer {
  const exchange = h.add('tell me', parts.join('').trim());
  return { turn: 't1', user: 'tell me', parts, exchange };
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
    truncateHeard(h, last, msg(1000)); // all of it heard: as it was
    expect(answers(h)).toEqual(['Paris is the capital']);
  });

  it('counts code points, never splitting a surrogate pair', () => {
    const h = new DialogueHistory(10_000);
    const last = done(h, ['🙂🙂', ' ok']);
    truncateHeard(h, last, msg(1));
    expect(answers(h)).toEqual(['🙂']);
  });

  it('adds the heard part of a cancelled answer, and nothing when none was heard', () => {
    const h = new DialogueHistory(10_000);
    const cancelled: LastAnswer = { turn: 't1', user: 'tell me', parts: [' Once', ' upon a', ' time'], exchange: undefined };
    truncateHeard(h, cancelled, msg(0));
    expect(h.size).toBe(0);
    truncateHeard(h, cancelled, msg(10));
    expect(answers(h)).toEqual(['Once upon']);
    truncateHeard(h, cancelled, msg(5)); // now kept: rewritten, not added twice
    expect(answers(h)).toEqual(['Once']);
    expect(h.size).toBe(1);
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
