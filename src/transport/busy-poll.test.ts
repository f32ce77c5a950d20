import { describe, expect, it } from 'vitest';
import { BusyPoll } from './busy-poll.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('BusyPoll', () => {
  it('spins while touched and stops windowMs after the last touch', async () => {
    const poll = new BusyPoll(30);
    expect(poll.isSpinning).toBe(false);
    poll.touch();
    expect(poll.isSpinning).toBe(true);
    for (let i = 0; i < 4; i++) {
      await sleep(15);
      poll.touch();
      expect(poll.isSpinning).toBe(true);
    }
    await sleep(80);
    expect(poll.isSpinning).toBe(false);
  });

  it('keeps the event loop from blocking: timers still fire, with the loop turning meanwhile', async () => {
    const poll = new BusyPoll(100);
    let turns = 0;
    const count = (): void => {
      turns++;
      if (poll.isSpinning) setImmediate(count);
    };
    poll.touch();
    setImmediate(count);
    const t0 = performance.now();
    await sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    expect(turns).toBeGreaterThan(20); // the loop went round many times in 20 ms instead of sleeping
  });

  it('does nothing when off', () => {
    const poll = new BusyPoll(0);
    poll.touch();
    expect(poll.isSpinning).toBe(false);
  });
});
