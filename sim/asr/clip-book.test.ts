// The clip book's transcriptions: registered text (or translation) for a clip, words revealed in
// step with the audio for an utterance in progress, placeholder words sized to unregistered speech,
// several utterances in one buffer.
import { describe, expect, it } from 'vitest';
import { clipSamples, whiteNoise } from './audio.testkit.ts';
import { loadClipBook, PLACEHOLDER_WORDS, placeholderTokens, timeTokens, tokenize } from './clip-book.ts';
import { CLIP_DEFS } from './clip-defs.ts';

const book = loadClipBook();

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('transcribe', () => {
  it.each(CLIP_DEFS.map((d) => d.name))('returns the registered transcript of %s', async (name) => {
    const def = CLIP_DEFS.find((d) => d.name === name);
    const t = book.transcribe(await clipSamples(name));
    expect(t.text).toBe(def?.text);
    expect(t.language).toBe(def?.language);
    expect(t.clips).toEqual([name]);
    expect(t.partialFraction).toBeUndefined();
    expect(Math.abs((t.segments[0]?.start ?? 0) - 0.3)).toBeLessThan(0.04); // 300 ms of leading silence
  });

  it('translates the Chinese clip, keeping the detected source language', async () => {
    const zh = await clipSamples('zh-what-picture');
    expect(book.transcribe(zh).text).toBe('这张图片里有什么？');
    expect(book.transcribe(zh).segments[0]?.text).toBe('这张图片里有什么？'); // no leading space in Chinese
    const tr = book.transcribe(zh, { task: 'translate' });
    expect(tr).toMatchObject({ text: 'What is in this picture?', language: 'zh' });
    expect(tr.segments[0]?.text).toBe(' What is in this picture?');
    // An English clip translated stays as it is.
    expect(book.transcribe(await clipSamples('detect-cars'), { task: 'translate' }).text).toBe('Detect the cars on the street.');
  });

  it('splits a two-sentence clip into two segments with word timings inside the speech', async () => {
    const t = book.transcribe(await clipSamples('describe-long'));
    expect(t.segments.map((s) => s.text.trim())).toEqual([
      'Please describe everything you can see in this photograph.',
      'Then tell me which of the objects are closest to the camera, and what colour each one is.',
    ]);
    const words = t.segments.flatMap((s) => s.words);
    expect(words).toHaveLength(27);
    for (let i = 1; i < words.length; i++) expect(words[i]?.start).toBeGreaterThanOrEqual(words[i - 1]?.start ?? 0);
    expect(words.at(-1)?.end).toBeLessThanOrEqual(0.3 + t.speechMs / 1000 + 0.05);
  });

  it('reveals words progressively while the utterance is in progress (each partial a prefix of the next)', async () => {
    const s = await clipSamples('describe-long');
    const texts: string[] = [];
    for (let ms = 400; ms <= 9000; ms += 250) {
      const t = book.transcribe(s.subarray(0, ms * 16));
      texts.push(t.text);
      if (t.text !== '' && t.text !== CLIP_DEFS[4].text) expect(t.partialFraction).toBeGreaterThan(0);
    }
    expect(texts[0]).toBe(''); // under 600 ms of speech nothing is said yet
    const distinct = [...new Set(texts)];
    expect(distinct.length).toBeGreaterThan(12);
    for (let i = 1; i < texts.length; i++) expect((texts[i] as string).startsWith(texts[i - 1] as string)).toBe(true);
    expect(texts.at(-1)).toBe(CLIP_DEFS[4].text);
  });

  it('two clips in one buffer give both transcripts in order', async () => {
    const t = book.transcribe(concat(await clipSamples('hello-how-are-you'), await clipSamples('segment-dog')));
    expect(t.clips).toEqual(['hello-how-are-you', 'segment-dog']);
    expect(t.text).toBe('Hello, how are you today? Segment the dog in this picture.');
    expect(t.segments[1]?.start).toBeGreaterThan(2);
  });

  it('unregistered speech gets placeholder words, ~2.5 per second; silence gets nothing', () => {
    const noise = whiteNoise(2, 0.1);
    const t = book.transcribe(concat(new Int16Array(8000), noise, new Int16Array(16_000)));
    expect(t.clips).toEqual([]);
    expect(t.text.split(' ')).toEqual(PLACEHOLDER_WORDS.slice(0, 5));
    expect(t.language).toBe('en');
    expect(book.transcribe(new Int16Array(32_000))).toMatchObject({ text: '', segments: [], speechMs: 0 });
  });
});

describe('tokens', () => {
  it('splits words, and CJK into characters with punctuation attached', () => {
    expect(tokenize('Hello, how are you today?')).toEqual(['Hello,', 'how', 'are', 'you', 'today?']);
    expect(tokenize('这张图片里有什么？')).toEqual(['这', '张', '图', '片', '里', '有', '什', '么？']);
  });

  it('times tokens over voiced frames only (a pause gets no word)', () => {
    const frames = [...Array(10).fill(-20), ...Array(10).fill(-55), ...Array(10).fill(-20)] as number[];
    const t = timeTokens(['cat', 'dog'], frames);
    expect(t[0]).toMatchObject({ start: 0, end: 0.2 });
    expect(t[1]?.start).toBe(0.4); // the pause belongs to no word
    expect(t[1]?.end).toBe(0.6);
  });

  it('placeholder partials are prefixes of the final words', () => {
    const final = placeholderTokens(3.1, true).map((t) => t.text);
    expect(final).toHaveLength(8);
    for (const sec of [0.5, 1, 2, 3]) expect(final.slice(0, placeholderTokens(sec, false).length)).toEqual(placeholderTokens(sec, false).map((t) => t.text));
    expect(placeholderTokens(0.1, true)).toHaveLength(1);
  });
});
