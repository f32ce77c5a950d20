// AnswerSpeaker on a stand-in speech engine: sentence splitting (CJK, long unpunctuated text),
// heard characters in code points, silence then stop, and when there is nothing to truncate.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnswerSpeaker, type SpeechEngine } from './speech.ts';

interface FakeUtterance {
  text: string;
  onboundary: ((ev: { charIndex: number }) => void) | null;
  onend: (() => void) | null;
  onerror: ((ev: { error: string }) => void) | null;
}

/** Records utterances; the test fires their events. */
class FakeEngine {
  spoken: FakeUtterance[] = [];
  cancels = 0;
  voices = 1;
  speak(u: SpeechSynthesisUtterance): void {
    this.spoken.push(u as unknown as FakeUtterance);
  }
  cancel(): void {
    this.cancels++;
  }
  getVoices(): SpeechSynthesisVoice[] {
    return Array.from({ length: this.voices }, () => ({}) as SpeechSynthesisVoice);
  }
}

describe('AnswerSpeaker', () => {
  let engine: FakeEngine;
  let speaker: AnswerSpeaker;
  beforeEach(() => {
    vi.stubGlobal(
      'SpeechSynthesisUtterance',
      class {
        onboundary = null;
        onend = null;
        onerror = null;
        constructor(readonly text: string) {}
      },
    );
    engine = new FakeEngine();
    speaker = new AnswerSpeaker(engine as unknown as SpeechEngine);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('speaks whole sentences as they complete, CJK ones too, and the rest at finish', () => {
    speaker.begin('t1');
    speaker.add('t1', 'Hello there');
    expect(engine.spoken).toEqual([]);
    speaker.add('t1', '. How are');
    speaker.add('t1', ' you? 好。再见');
    expect(engine.spoken.map((u) => u.text)).toEqual(['Hello there. ', 'How are you? 好。']);
    speaker.finish('t1');
    expect(engine.spoken.map((u) => u.text).at(-1)).toBe('再见');
  });

  it('speaks long text without punctuation up to its last space', () => {
    speaker.begin('t1');
    speaker.add('t1', 'word '.repeat(45));
    expect(engine.spoken).toHaveLength(1);
    expect(engine.spoken[0]?.text.endsWith(' ')).toBe(true);
  });

  it('counts what was heard in code points, from boundaries and ends', () => {
    speaker.begin('t1');
    speaker.add('t1', '🙂 One. ');
    speaker.add('t1', 'Two three. ');
    const [first, second] = engine.spoken;
    first?.onend?.(); // "🙂 One. " heard
    second?.onboundary?.({ charIndex: 4 }); // into "Two three. ": "Two " heard
    expect(speaker.stop('t1')).toBe(Array.from('🙂 One. Two ').length);
    expect(engine.cancels).toBe(1);
  });

  it('silenced while streaming: later tokens are not spoken, and stop() reports what was heard', () => {
    speaker.begin('t1');
    speaker.add('t1', 'First sentence. ');
    engine.spoken[0]?.onboundary?.({ charIndex: 6 });
    speaker.silence('t1');
    engine.spoken[0]?.onend?.(); // after cancel: not counted
    speaker.add('t1', 'Second sentence. ');
    speaker.finish('t1');
    expect(engine.spoken).toHaveLength(1);
    expect(speaker.stop('t1')).toBe(6);
  });

  it('has nothing to truncate when the answer was spoken whole, nothing was spoken yet, speech failed, or it is another turn', () => {
    speaker.begin('t1');
    speaker.add('t1', 'Done. ');
    speaker.finish('t1');
    engine.spoken[0]?.onend?.();
    expect(speaker.stop('t1')).toBeUndefined();

    speaker.begin('t2');
    speaker.add('t2', 'no sentence end yet');
    expect(speaker.stop('t2')).toBeUndefined();

    speaker.begin('t3');
    speaker.add('t3', 'One. Two. ');
    engine.spoken.at(-1)?.onerror?.({ error: 'synthesis-failed' });
    expect(speaker.stop('t3')).toBeUndefined();

    speaker.begin('t4');
    speaker.add('t5', 'Not this one. ');
    expect(speaker.stop('t5')).toBeUndefined();
    expect(speaker.current).toBe('t4');
  });

  it('is available only with a voice; drop() stops without a truncation', () => {
    expect(speaker.available).toBe(true);
    engine.voices = 0;
    expect(speaker.available).toBe(false);
    speaker.begin('t1');
    speaker.add('t1', 'Hello. ');
    speaker.drop();
    expect(speaker.current).toBeUndefined();
    expect(speaker.stop('t1')).toBeUndefined();
  });
});
