// Text helpers: tokens (CJK characters are words), gluing segment texts, local agreement.
import { describe, expect, it } from 'vitest';
import { LocalAgreement, glue, joinSegments, joinTokens, tokens } from './text.ts';

describe('tokens / glue / joinSegments', () => {
  it('splits words with their leading space and CJK per character', () => {
    expect(tokens('  Hello,  world ')).toEqual(['Hello,', ' world']);
    expect(tokens('这张图片')).toEqual(['这', '张', '图', '片']);
    expect(tokens('我喜欢 Python 语言')).toEqual(['我', '喜', '欢', ' Python', ' 语', '言']);
    expect(joinTokens(tokens(' a  b c'))).toBe('a b c');
  });

  it('glues with a space except between unspaced scripts', () => {
    expect(glue('Hello', 'world')).toBe(' world');
    expect(glue('', 'world')).toBe('world');
    expect(glue('Hello', '')).toBe('');
    expect(glue('这张', '图片')).toBe('图片');
    expect(glue('什么', '？')).toBe('？');
    expect(glue('Hello.', 'Then')).toBe(' Then');
  });

  it('joins Whisper segment texts', () => {
    expect(joinSegments([' Hello', ' world.'])).toBe('Hello world.');
    expect(joinSegments(['这张', '图片'])).toBe('这张图片');
  });
});

describe('LocalAgreement', () => {
  it('makes words stable once two successive hypotheses agree, and never takes them back', () => {
    const la = new LocalAgreement();
    expect(la.update('Hello')).toEqual({ stable: '', unstable: 'Hello' });
    expect(la.update('Hello, how')).toEqual({ stable: 'Hello,', unstable: ' how' });
    expect(la.update('Hello how are')).toEqual({ stable: 'Hello, how', unstable: ' are' });
    // A revision of stable words only changes the tail.
    expect(la.update('Yellow cow are you')).toEqual({ stable: 'Hello, how', unstable: ' are you' });
    expect(la.update('Hello how are you today?')).toEqual({ stable: 'Hello, how are you', unstable: ' today?' });
    la.reset();
    expect(la.update('New')).toEqual({ stable: '', unstable: 'New' });
  });

  it('agrees character by character in CJK', () => {
    const la = new LocalAgreement();
    la.update('这张图');
    expect(la.update('这张图片里')).toEqual({ stable: '这张图', unstable: '片里' });
  });
});
