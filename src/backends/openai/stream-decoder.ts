// The Messages API stream as port events: each chat-completion chunk's content becomes a token;
// the DoneEvent comes at `[DONE]`, or when the stream breaks off after a finish_reason (TGI < 2.2
// ends the body without `[DONE]`; a stall, reset or garbage after the finish_reason still leaves a
// complete answer). The usage chunk between finish_reason and `[DONE]` supplies the token count.
import type { DoneEvent, GenEvent } from '../ports.ts';
import type { SseEventDecoder } from '../http/sse-upstream.ts';
import { openAiEndedEarlyError } from './errors.ts';
import { DONE_DATA, parseChunk, withoutStopSuffix } from './events.ts';

export class OpenAiStreamDecoder implements SseEventDecoder {
  complete = false;
  sawToken = false;
  /** Content chunks seen (the token count when the server sends no usage). */
  private counted = 0;
  private text = '';
  private finish: DoneEvent['finish'] | undefined;
  private usageTokens: number | undefined;

  /** @param stop the stop sequences sent (a matched one is cut from the final text). */
  constructor(private readonly stop: readonly string[]) {}

  read(payloads: readonly string[], recvAt: number, out: GenEvent[]): void {
    this.sawToken = false;
    for (let i = 0; i < payloads.length; i++) {
      const data = payloads[i] as string;
      if (data === DONE_DATA) {
        if (this.finish === undefined) throw openAiEndedEarlyError();
        this.complete = true;
        out.push(this.done());
        return;
      }
      const c = parseChunk(data, this.counted > 0);
      if (c.completionTokens !== undefined) this.usageTokens = c.completionTokens;
      if (c.finish !== undefined) this.finish = c.finish;
      if (c.content === '') continue;
      this.counted++;
      if (!c.special) this.text += c.content;
      this.sawToken = true;
      out.push({ kind: 'token', id: -1, text: c.content, special: c.special, recvAt });
    }
  }

  salvage(): GenEvent | undefined {
    return this.finish === undefined ? undefined : this.done();
  }

  /** llama.cpp writes stream errors as an `error: {json}` field line rather than as data. */
  unknownField(field: string, value: string): string | undefined {
    return field === 'error' ? `{"error":${value}}` : undefined;
  }

  private done(): DoneEvent {
    const finish = this.finish ?? 'eos_token';
    return {
      kind: 'done',
      finish,
      generatedText: finish === 'stop_sequence' ? withoutStopSuffix(this.text, this.stop) : this.text,
      tokens: this.usageTokens ?? this.counted,
    };
  }
}
