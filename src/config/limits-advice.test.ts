import { describe, expect, it } from 'vitest';
import { limitsAdvice } from './limits-advice.ts';
import { loadConfig } from './load.ts';

describe('limitsAdvice', () => {
  it('is silent at the defaults and when resume is off', () => {
    const { limits } = loadConfig({ argv: [], env: {} });
    expect(limitsAdvice(limits)).toBeUndefined();
    expect(limitsAdvice({ ...limits, replayFrames: 0 })).toBeUndefined();
  });

  it('warns when the replay buffer cannot hold what a slow consumer leaves behind', () => {
    const { limits } = loadConfig({ argv: [], env: {} });
    expect(limitsAdvice({ ...limits, replayFrames: 512 })).toMatch(/replayFrames is not above limits.outboxMaxFrames/);
    expect(limitsAdvice({ ...limits, outboxMaxBytes: 4 << 20 })).toMatch(/replayBytes is below limits.outboxMaxBytes \+ limits.highWaterBytes/);
  });
});
