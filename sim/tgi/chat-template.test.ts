// The simulated chat templates rule by rule: Llama-2's system merge, alternation check and
// BOS/EOS placement, the IDEFICS-style layout, and TGI's continuation of a final assistant message.
import { describe, expect, it } from 'vitest';
import { applyChatTemplate, ideficsChatTemplate, llama2ChatTemplate, TemplateError } from './chat-template.ts';

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

describe('Llama-2 chat template', () => {
  it('matches the shape of TGI’s own Llama-2 test target', () => {
    expect(llama2ChatTemplate([
      { role: 'system', content: 'You are a friendly chatbot who always responds in the style of a pirate' },
      u('Hello, how are you?'), a("I'm doing great. How can I help you today?"), u("I'd like to show off how chat templating works!"),
    ])).toBe(
      "<s>[INST] <<SYS>>\nYou are a friendly chatbot who always responds in the style of a pirate\n<</SYS>>\n\nHello, how are you? [/INST] I'm doing great. How can I help you today? </s><s>[INST] I'd like to show off how chat templating works! [/INST]",
    );
  });

  it('strips each turn, needs no system message', () => {
    expect(llama2ChatTemplate([u('  hi\n')])).toBe('<s>[INST] hi [/INST]');
  });

  it('raises on non-alternating roles and on an empty list', () => {
    expect(() => llama2ChatTemplate([a('x')])).toThrow(TemplateError);
    expect(() => llama2ChatTemplate([u('x'), u('y')])).toThrow(/Conversation roles must alternate/);
    expect(() => llama2ChatTemplate([])).toThrow('undefined value (in <string>:1)');
  });
});

describe('IDEFICS-style chat template', () => {
  it('writes one `Role:` line per message and ends with `Assistant:`', () => {
    expect(ideficsChatTemplate([{ role: 'system', content: 'Be brief.' }, u('![](https://a/b.png)What?'), a('A cat.'), u('Color?')])).toBe(
      'System: Be brief.<end_of_utterance>\nUser:![](https://a/b.png)What?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\nUser: Color?<end_of_utterance>\nAssistant:',
    );
  });
});

describe('applyChatTemplate', () => {
  it('continues a final assistant message instead of closing it', () => {
    expect(applyChatTemplate('llm', [u('Count to 3'), a('1, 2,')])).toBe('<s>[INST] Count to 3 [/INST] 1, 2,');
    expect(applyChatTemplate('vlm', [u('Count to 3'), a('1, 2,')])).toBe('User: Count to 3<end_of_utterance>\nAssistant: 1, 2,');
  });
});
