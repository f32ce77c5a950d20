// extractKeywords parses a long text only up to MAX_PARSED characters, cut between words; shorter
// texts are parsed whole (parseTerms is observed through a pass-through spy).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Nlp from './nlp.ts';
import { parseTerms } from './nlp.ts';
import { extractKeywords, MAX_PARSED } from './keywords.ts';

vi.mock('./nlp.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof Nlp>();
  return { ...actual, parseTerms: vi.fn(actual.parseTerms) };
});

const parsedTexts = (): string[] => vi.mocked(parseTerms).mock.calls.map(([text]) => text);

describe('extractKeywords parse window', () => {
  beforeEach(() => vi.mocked(parseTerms).mockClear());

  it('parses a text of MAX_PARSED characters whole', () => {
    const text = `Outline the Elephant ${'and the grey rhino '.repeat(110)}`.slice(0, MAX_PARSED);
    extractKeywords(text);
    expect(parsedTexts()).toEqual([text.toLowerCase()]);
  });

  it('parses only a prefix of a 16K-character text, ending at a whole word', () => {
    for (const offset of [0, 1, 5, 9, 13]) {
      const text = `${'x'.repeat(offset)} ${'outline the elephant and the grey rhino '.repeat(420)}`;
      expect(text.length).toBeGreaterThan(16_000);
      extractKeywords(text);
      const [parsed] = parsedTexts().slice(-1);
      expect(parsed!.length).toBeLessThanOrEqual(MAX_PARSED);
      expect(parsed!.length).toBeGreaterThan(MAX_PARSED - 20);
      expect(text.startsWith(parsed!)).toBe(true);
      expect(text.charAt(parsed!.length)).toMatch(/\s/);
    }
  });

  it('cuts a text without whitespace at MAX_PARSED, not inside a surrogate pair', () => {
    extractKeywords('a'.repeat(16_000));
    extractKeywords(`${'a'.repeat(MAX_PARSED - 1)}${'\u{1F415}'.repeat(8_000)}`);
    const [plain, emoji] = parsedTexts();
    expect(plain).toBe('a'.repeat(MAX_PARSED));
    expect(emoji).toBe('a'.repeat(MAX_PARSED - 1));
  });
});
