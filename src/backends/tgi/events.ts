// Decoding of one TGI `/generate_stream` SSE data payload (StreamResponse or ErrorResponse JSON,
// backend-protocols §1.4-1.5) into the port's events. Runs once per token: no closures, and the
// only allocations are JSON.parse's and the returned event.
import type { DoneEvent, GenEvent, TokenEvent } from '../ports.ts';
import type { VlpError } from '../../../protocol/errors.ts';
import type { SseEventDecoder } from '../http/sse-upstream.ts';
import { tgiEventError, tgiProtocolError } from './errors.ts';

/** The fields of a TGI stream event this adapter reads (others, e.g. top_tokens, are ignored). */
export interface TgiStreamEvent {
  token?: { id?: unknown; text?: unknown; special?: unknown } | null;
  generated_text?: unknown;
  details?: { finish_reason?: unknown; generated_tokens?: unknown } | null;
  error?: unknown;
  error_type?: unknown;
}

/** Parses one payload. Throws the mapped VlpError for an error event, UPSTREAM_PROTOCOL for
 *  anything that is not a JSON object (the parse error is not attached: it quotes the data). */
export function parseTgiEvent(data: string): TgiStreamEvent {
  let ev: unknown;
  try {
    ev = JSON.parse(data);
  } catch {
    throw tgiProtocolError('event data is not JSON');
  }
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) throw tgiProtocolError('event is not a JSON object');
  const e = ev as TgiStreamEvent;
  if (e.error !== undefined && e.error !== null) throw tgiEventError(e.error, e.error_type);
  return e;
}

/** The event's token, or undefined when it carries none (then it must be a final event). */
export function tokenOf(e: TgiStreamEvent): TokenEvent | undefined {
  const t = e.token;
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'object' || typeof t.text !== 'string') throw tgiProtocolError('token without text');
  return {
    kind: 'token',
    id: typeof t.id === 'number' ? t.id : -1,
    text: t.text,
    special: t.special === true,
  };
}

/** The final event (non-null generated_text) as a DoneEvent; undefined for intermediate events.
 *  `counted` = token events seen, used when TGI omits details.generated_tokens. `stops` = the stop
 *  sequences sent: TGI keeps a matched non-special stop (e.g. IDEFICS' `\nUser:`) at the end of
 *  generated_text, and the answer the client keeps must not end with template scaffolding. */
export function doneOf(e: TgiStreamEvent, counted: number, stops: readonly string[]): DoneEvent | undefined {
  const text = e.generated_text;
  if (text === undefined || text === null) return undefined;
  if (typeof text !== 'string') throw tgiProtocolError('generated_text is not a string');
  const d = e.details;
  const tokens = typeof d === 'object' && d !== null && typeof d.generated_tokens === 'number' ? d.generated_tokens : counted;
  const finish = finishOf(d);
  const generatedText = finish === 'stop_sequence' ? withoutStopSuffix(text, stops) : text;
  return { kind: 'done', finish, generatedText, tokens };
}

/** Removes the longest stop sequence that `text` ends with, if any. */
export function withoutStopSuffix(text: string, stops: readonly string[]): string {
  let cut = 0;
  for (const s of stops) if (s.length > cut && text.endsWith(s)) cut = s.length;
  return cut === 0 ? text : text.slice(0, text.length - cut);
}

/** TGI's finish_reason. We always request details, so it is normally present; a missing or
 *  future value reads as 'eos_token' ("the model stopped") rather than failing a complete answer. */
function finishOf(d: TgiStreamEvent['details']): DoneEvent['finish'] {
  const r = typeof d === 'object' && d !== null ? d.finish_reason : undefined;
  return r === 'length' || r === 'stop_sequence' ? r : 'eos_token';
}

/**
 * Reads a TGI stream batch by batch (the `data` payloads one upstream chunk completed), for every
 * transport that carries TGI's SSE: the native route and a TGI container behind SageMaker.
 * Counts tokens, stamps their receive time, and stops at the final event.
 */
export class TgiStreamReader implements SseEventDecoder {
  private counted = 0;
  /** The final event (non-null generated_text) has been read. */
  ended = false;
  /** The last batch carried at least one token (progress for the stall watch). */
  sawToken = false;

  constructor(
    private readonly stops: readonly string[],
    private readonly protocolError: (what: string) => VlpError,
  ) {}

  get complete(): boolean {
    return this.ended;
  }

  /** A TGI stream without its final event is incomplete: nothing to salvage. */
  salvage(): undefined {
    return undefined;
  }

  /** Appends the batch's events to `out`, in order; nothing after the final event. */
  read(payloads: readonly string[], recvAt: number, out: GenEvent[]): void {
    this.sawToken = false;
    for (let i = 0; i < payloads.length; i++) {
      const ev = parseTgiEvent(payloads[i] as string);
      const token = tokenOf(ev);
      const done = doneOf(ev, token === undefined ? this.counted : this.counted + 1, this.stops);
      if (token !== undefined) {
        this.counted++;
        this.sawToken = true;
        token.recvAt = recvAt;
        out.push(token);
      }
      if (done !== undefined) {
        this.ended = true;
        out.push(done);
        return;
      }
      if (token === undefined) throw this.protocolError('event has neither token nor generated_text');
    }
  }
}
