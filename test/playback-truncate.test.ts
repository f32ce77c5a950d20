// playback.truncate end to end on both transports: the next turn's prompt (its length, as the
// simulated TGI receives it) holds only the heard part of the previous answer; a cancelled answer
// enters the history with its heard part; the wrong or the running turn get typed errors.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorMsg, GenDoneMsg, GenTokenMsg } from '../protocol/messages.ts';
import type { TransportKind } from '../src/transport/index.ts';
import { RawClient, startStack, type Stack } from './harness.ts';

describe.each<TransportKind>(['ws', 'uws'])('playback.truncate (%s)', (transport) => {
  let stack: Stack;
  const inputs: number[] = [];
  beforeAll(async () => {
    stack = await startStack(transport, { sim: { ttftMs: 5, itlMs: 2, jitter: 0 } });
    stack.sim.events.on('request', (e: { inputsLength: number }) => inputs.push(e.inputsLength));
  });
  afterAll(async () => {
    await stack.close();
  });

  /** One answer turn; its streamed text and gen.done. */
  async function answer(c: RawClient, id: string, text: string): Promise<{ streamed: string; done: GenDoneMsg }> {
    const from = c.frames.length;
    c.send({ t: 'turn.start', id, text, params: { max_new_tokens: 24, seed: 7 } });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === id, 5000, from);
    const streamed = c.frames.slice(from).filter((m): m is GenTokenMsg => m.t === 'gen.token' && m.turn === id).map((m) => m.text).join('');
    return { streamed, done };
  }

  /** The prompt length of the next turn after `setup` ran on a fresh session. */
  async function nextPromptLength(setup: (c: RawClient) => Promise<void>): Promise<number> {
    const c = await RawClient.session(stack.url);
    await setup(c);
    await answer(c, 'next', 'and then?');
    c.close();
    return inputs.at(-1) as number;
  }

  it('keeps only the heard part of a finished answer in the next prompt', async () => {
    let full = '';
    let heardTrimmed = '';
    const truncated = await nextPromptLength(async (c) => {
      const a = await answer(c, 't1', 'Tell me about Paris');
      full = a.done.text;
      heardTrimmed = a.streamed.slice(0, 9).trim();
      c.send({ t: 'playback.truncate', turn: 't1', heard_chars: 9 });
    });
    const whole = await nextPromptLength(async (c) => {
      await answer(c, 't1', 'Tell me about Paris');
    });
    expect(full.length).toBeGreaterThan(heardTrimmed.length);
    expect(whole - truncated).toBe(full.length - heardTrimmed.length);
  });

  it('adds the heard part of a cancelled answer (left out without it)', async () => {
    const user = 'Tell me a long story';
    const heard = 6;
    const cancelThenMaybeTruncate = (truncate: boolean) => async (c: RawClient): Promise<void> => {
      const from = c.frames.length;
      c.send({ t: 'turn.start', id: 'long', text: user, params: { max_new_tokens: 400 } });
      await c.waitFor((m) => m.t === 'gen.token' && m.turn === 'long', 5000, from);
      c.send({ t: 'turn.cancel', id: 'long' });
      await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 'long', 5000, from);
      if (truncate) c.send({ t: 'playback.truncate', turn: 'long', heard_chars: heard });
    };
    const withHeard = await nextPromptLength(cancelThenMaybeTruncate(true));
    const without = await nextPromptLength(cancelThenMaybeTruncate(false));
    // The exchange (user text, the heard part, the template around them) is in the prompt.
    expect(withHeard - without).toBeGreaterThanOrEqual(user.length + 1);
  });

  it('refuses the running turn (TURN_BUSY) and a turn that is not the latest answer (TURN_NOT_FOUND)', async () => {
    const c = await RawClient.session(stack.url);
    await answer(c, 'a', 'first');
    await answer(c, 'b', 'second');
    c.send({ t: 'playback.truncate', turn: 'a', heard_chars: 1 });
    const notFound = await c.waitFor<ErrorMsg>((m) => m.t === 'error');
    expect(notFound).toMatchObject({ code: 'TURN_NOT_FOUND', turn: 'a', ref: 'playback.truncate', fatal: false });
    const from = c.frames.length;
    c.send({ t: 'turn.start', id: 'c', text: 'third', params: { max_new_tokens: 400 } });
    await c.waitFor((m) => m.t === 'turn.started' && m.turn === 'c', 5000, from);
    c.send({ t: 'playback.truncate', turn: 'c', heard_chars: 1 });
    const busy = await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.code === 'TURN_BUSY', 5000, from);
    expect(busy).toMatchObject({ turn: 'c', ref: 'playback.truncate' });
    // The previous answer can still be truncated while a newer turn runs; the session goes on.
    c.send({ t: 'playback.truncate', turn: 'b', heard_chars: 2 });
    c.send({ t: 'turn.cancel', id: 'c' });
    await c.waitFor((m) => m.t === 'turn.cancelled' && m.turn === 'c', 5000, from);
    expect(c.frames.slice(from).filter((m) => m.t === 'error')).toHaveLength(1);
    c.close();
  });

  it('refuses a detection turn (no tokens streamed) and leaves the answer before it alone', async () => {
    const c = await RawClient.session(stack.url);
    await answer(c, 'a', 'hello');
    const photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'white' } }).jpeg().toBuffer());
    c.send({ t: 'image.put', id: 'img', data: photo });
    const from = c.frames.length;
    c.send({ t: 'turn.start', id: 'seg', text: 'segment the dog in this picture', image: 'img' });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'seg', 10_000, from);
    expect(c.frames.slice(from).some((m) => m.t === 'detect.boxes')).toBe(true);
    c.send({ t: 'playback.truncate', turn: 'seg', heard_chars: 0 });
    c.send({ t: 'playback.truncate', turn: 'a', heard_chars: 0 });
    await c.waitFor((m) => m.t === 'error' && m.turn === 'a', 5000, from);
    const errors = c.frames.slice(from).filter((m): m is ErrorMsg => m.t === 'error');
    expect(errors.map((e) => [e.turn, e.code])).toEqual([['seg', 'TURN_NOT_FOUND'], ['a', 'TURN_NOT_FOUND']]);
    c.close();
  });
});
