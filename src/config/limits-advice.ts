// Boot-time advice on limits that are valid one by one but defeat each other: a replay buffer
// smaller than what a slow consumer leaves behind makes the resume promised after close 4008 fail.
import type { Config } from './schema.ts';

/** A warning for the boot log, or undefined when the limits fit together. */
export function limitsAdvice(limits: Pick<Config['limits'], 'outboxMaxFrames' | 'outboxMaxBytes' | 'replayFrames' | 'replayBytes' | 'highWaterBytes'>): string | undefined {
  if (limits.replayFrames === 0) return undefined; // resume turned off on purpose
  const short: string[] = [];
  if (limits.replayFrames <= limits.outboxMaxFrames) short.push('limits.replayFrames is not above limits.outboxMaxFrames');
  if (limits.replayBytes < limits.outboxMaxBytes + limits.highWaterBytes) short.push('limits.replayBytes is below limits.outboxMaxBytes + limits.highWaterBytes');
  if (short.length === 0) return undefined;
  return `a session closed as a slow consumer (4008) cannot be resumed with these limits: ${short.join('; ')}`;
}
