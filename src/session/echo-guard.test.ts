import { describe, expect, it } from 'vitest';
import { align, answerWindow, echoWords, judgeEcho, playbackPosition, speakingMs, type EchoSource } from './echo-guard.ts';

const cfg = { minWords: 2, coverage: 0.7 };
const answer = 'The capital of France is Paris. It has been the country\'s capital since the tenth century, and about two million people live there.';
const src = (text: string, position?: number): EchoSource[] => [position === undefined ? { text } : { text, position }];

describe('echoWords', () => {
  it('lower-cases, drops punctuation and splits CJK text into characters', () => {
    expect(echoWords('Hello, how are YOU today?')).toEqual(['hello', 'how', 'are', 'you', 'today']);
    expect(echoWords('这张图片 里有什么？ GPU4')).toEqual(['这', '张', '图', '片', '里', '有', '什', '么', 'gpu4']);
    expect(echoWords('a b c d', 2)).toEqual(['a', 'b']);
  });
});

describe('judgeEcho', () => {
  it('calls a stretch of the answer echo, with a misheard word or two', () => {
    expect(judgeEcho('the capital of France is Paris', src(answer), cfg)).toBe('echo');
    expect(judgeEcho('since the tenth century and about two million', src(answer), cfg)).toBe('echo');
    expect(judgeEcho('its been the countries capital since the tent century', src(answer), cfg)).toBe('echo');
    expect(judgeEcho('这张图片', src('这张图片里有一只狗。'), cfg)).toBe('echo');
  });

  it('calls the user\'s own words user, even when they share common words with the answer', () => {
    expect(judgeEcho('stop', src(answer), cfg)).toBe('user');
    expect(judgeEcho('what is the capital of Germany then', src(answer), cfg)).toBe('user');
    // Every word occurs somewhere in the answer, but not as one stretch.
    expect(judgeEcho('the people of Paris live since about the capital', src(answer), cfg)).toBe('user');
    expect(judgeEcho('the capital of France is Paris', [], cfg)).toBe('user');
  });

  it('calls the user speaking over the echo user: three or more words outside the aligned stretch', () => {
    // 12 echoed words then the user's question: 12 of 17 words align (over the coverage), but five lie after.
    const mixed = 'it has been the country\'s capital since the tenth century and about what about spain then please';
    expect(judgeEcho(mixed, src(answer), cfg)).toBe('user');
    // The same before the echo.
    expect(judgeEcho('no wait listen the capital of France is Paris it has been', src(answer), cfg)).toBe('user');
    // A word of noise on either side is still echo.
    expect(judgeEcho('uh the capital of France is Paris it', src(answer), cfg)).toBe('echo');
  });

  it('judges a long transcript on its newest words, and a barge-in tail on its last ones', () => {
    const long = `${answer} ${answer} ${answer} ${answer}`; // a 96-word answer: the newest 64 words are echo
    expect(judgeEcho(long, src(long), cfg)).toBe('echo');
    expect(judgeEcho(`${long} hey stop that now please`, src(long), cfg)).toBe('user');
    expect(judgeEcho(`hey stop that now please ${long}`, src(long), cfg)).toBe('echo'); // the user's words fell out of the window
    expect(judgeEcho(`${answer} could you stop`, src(answer), cfg, 6)).toBe('user');
  });

  it('is unsure of a single matching word and of an empty transcript', () => {
    expect(judgeEcho('Paris.', src(answer), cfg)).toBe('unsure');
    expect(judgeEcho(' ... ', src(answer), cfg)).toBe('unsure');
  });

  it('takes the best of several answers', () => {
    expect(judgeEcho('hello how are you', [{ text: 'Something else entirely.' }, { text: 'Well hello, how are you doing?' }], cfg)).toBe('echo');
  });

  it('compares a long answer around the estimated playback position', () => {
    // 3000 distinct three-letter words (too short to count as one misheard letter apart).
    const letter = (k: number): string => String.fromCharCode(97 + (Math.floor(k) % 26));
    const words = Array.from({ length: 3000 }, (_, i) => letter(i / 676) + letter(i / 26) + letter(i));
    const long = words.join(' ');
    const late = words.slice(2500, 2510).join(' ');
    expect(judgeEcho(late, src(long, 2505), cfg)).toBe('echo');
    expect(judgeEcho(late, src(long, 100), cfg)).toBe('user'); // far from where playback is
    expect(answerWindow(words, 2990)).toEqual(words.slice(1976)); // clamped to the end
    expect(answerWindow(words, undefined)).toEqual(words.slice(0, 1024));
    expect(answerWindow(words.slice(0, 10), 5000)).toEqual(words.slice(0, 10));
    expect(playbackPosition(2000)).toBe(5);
    expect(speakingMs('one two three four five')).toBe(2000);
  });

  it('aligns locally and counts the words outside the stretch', () => {
    expect(align(['a', 'b', 'c'], ['x', 'a', 'b', 'c', 'y'])).toEqual({ matches: 3, outside: 0 });
    expect(align(['q', 'a', 'b', 'c', 'r', 's'], ['x', 'a', 'b', 'c', 'y'])).toEqual({ matches: 3, outside: 3 });
    expect(align(['a', 'b', 'c'], ['a', 'x', 'x', 'x', 'x', 'b', 'x', 'x', 'x', 'x', 'c']).matches).toBe(1);
  });
});
