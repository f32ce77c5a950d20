import { describe, expect, it } from 'vitest';
import { alignedMatches, echoWords, judgeEcho } from './echo-guard.ts';

const cfg = { minWords: 2, coverage: 0.7 };
const answer = 'The capital of France is Paris. It has been the country\'s capital since the tenth century, and about two million people live there.';

describe('echoWords', () => {
  it('lower-cases, drops punctuation and splits CJK text into characters', () => {
    expect(echoWords('Hello, how are YOU today?')).toEqual(['hello', 'how', 'are', 'you', 'today']);
    expect(echoWords('这张图片 里有什么？ GPU4')).toEqual(['这', '张', '图', '片', '里', '有', '什', '么', 'gpu4']);
    expect(echoWords('a b c d', 2)).toEqual(['a', 'b']);
  });
});

describe('judgeEcho', () => {
  it('calls a stretch of the answer echo, with a misheard word or two', () => {
    expect(judgeEcho('the capital of France is Paris', [answer], cfg)).toBe('echo');
    expect(judgeEcho('since the tenth century and about two million', [answer], cfg)).toBe('echo');
    expect(judgeEcho('its been the countries capital since the tent century', [answer], cfg)).toBe('echo');
    expect(judgeEcho('这张图片', ['这张图片里有一只狗。'], cfg)).toBe('echo');
  });

  it('calls the user\'s own words user, even when they share common words with the answer', () => {
    expect(judgeEcho('stop', [answer], cfg)).toBe('user');
    expect(judgeEcho('what is the capital of Germany then', [answer], cfg)).toBe('user');
    // Every word occurs somewhere in the answer, but not as one stretch.
    expect(judgeEcho('the people of Paris live since about the capital', [answer], cfg)).toBe('user');
    expect(judgeEcho('the capital of France is Paris', [], cfg)).toBe('user');
  });

  it('is unsure of a single matching word and of an empty transcript', () => {
    expect(judgeEcho('Paris.', [answer], cfg)).toBe('unsure');
    expect(judgeEcho(' ... ', [answer], cfg)).toBe('unsure');
  });

  it('judges only the newest words when asked for a tail: the user speaking up after an echo', () => {
    const echoThenUser = 'the capital of France is Paris wait stop I want something else please';
    expect(judgeEcho('the capital of France is Paris', [answer], cfg, 6)).toBe('echo');
    expect(judgeEcho(echoThenUser, [answer], cfg, 6)).toBe('user');
    expect(judgeEcho('wait the capital of France is Paris', [answer], cfg, 6)).toBe('echo');
  });

  it('takes the best of several answers', () => {
    expect(judgeEcho('hello how are you', ['Something else entirely.', 'Well hello, how are you doing?'], cfg)).toBe('echo');
  });

  it('counts aligned matches locally', () => {
    expect(alignedMatches(['a', 'b', 'c'], ['x', 'a', 'b', 'c', 'y'])).toBe(3);
    expect(alignedMatches(['a', 'b', 'c'], ['a', 'x', 'x', 'x', 'x', 'b', 'x', 'x', 'x', 'x', 'c'])).toBe(1);
  });
});
