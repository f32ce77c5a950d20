import { describe, expect, it } from 'vitest';
import { stealDelta, stealMsPerCore } from './proc-stat.ts';

const SAMPLE = `cpu  1876150 1917 475620 4759159 5208 0 191759 8005 0 0
cpu0 957007 686 250040 2341216 853 0 98228 4018 0 0
cpu1 919143 1230 225580 2417943 4355 0 93531 3987 0 0
intr 1 2 3
`;

describe('stealMsPerCore', () => {
  it('reads the 8th field of each cpuN line in 10 ms ticks, skipping the total line', () => {
    expect(stealMsPerCore(SAMPLE)).toEqual([40180, 39870]);
    expect(stealDelta([40180, 39870], [40200, 39870])).toEqual([20, 0]);
  });

  it('reads nothing from an empty or foreign text', () => {
    expect(stealMsPerCore('')).toEqual([]);
  });
});
