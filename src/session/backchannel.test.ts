import { describe, expect, it } from 'vitest';
import { backchannelPhrases, DEFAULT_BACKCHANNELS, isBackchannel } from './backchannel.ts';

const phrases = backchannelPhrases(DEFAULT_BACKCHANNELS);

describe('isBackchannel', () => {
  it('recognises backchannels, alone or strung together, whatever the case and punctuation', () => {
    for (const t of ['Yeah.', 'uh-huh', 'Mm hmm!', 'Okay, okay.', 'Right, I see.', 'yeah yeah got it', 'Sí, claro', 'Oui, d’accord', '嗯']) {
      expect(isBackchannel(t, phrases), t).toBe(true);
    }
  });

  it('does not take a question, a refusal or anything longer for one', () => {
    for (const t of ['Stop.', 'Yeah but what about Spain?', 'No.', 'I see a dog', 'okay what is the capital of France', '', '...', 'yeah '.repeat(9)]) {
      expect(isBackchannel(t, phrases), t).toBe(false);
    }
  });

  it('takes the configured phrases only', () => {
    expect(isBackchannel('yeah', backchannelPhrases(['ok']))).toBe(false);
    expect(isBackchannel('ok ok', backchannelPhrases(['ok']))).toBe(true);
  });
});
