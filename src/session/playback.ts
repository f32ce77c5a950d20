// playback.truncate (SPEC §5): the user heard only part of the latest answer — the client's speech
// or display stopped early, typically at a barge-in — so the dialogue history keeps only what was
// heard, and the next turn's prompt does not claim the assistant said more than it did. A turn the
// gateway cancelled (and so kept out of the history) enters it with the part that was heard.
import type { PlaybackTruncateMsg } from '../../protocol/messages.ts';
import type { DialogueHistory, Exchange } from './history.ts';

/** The latest answer turn, as the client got it. */
export interface LastAnswer {
  turn: string;
  user: string;
  /** Its gen.token texts in order (joined only when a truncation needs them). */
  parts: string[];
  /** The history entry it made, if any (a cancelled, failed or capped answer makes none). */
  exchange: Exchange | undefined;
}

/** The first `n` code points of `text`. */
function prefix(text: string, n: number): string {
  if (n >= text.length) return text; // n code points cover at least n UTF-16 units
  let units = 0;
  for (let k = 0; k < n && units < text.length; k++) {
    const c = text.codePointAt(units) as number;
    units += c > 0xffff ? 2 : 1;
  }
  return text.slice(0, units);
}

/** Applies the truncation to the history. */
export function truncateHeard(history: DialogueHistory, last: LastAnswer, msg: PlaybackTruncateMsg): void {
  const streamed = last.parts.join('');
  const heard = prefix(streamed, msg.heard_chars);
  if (heard.length === streamed.length && last.exchange !== undefined) return; // all of it was heard
  const text = heard.trim();
  if (last.exchange !== undefined) {
    history.rewrite(last.exchange, text);
    return;
  }
  if (text.length > 0) last.exchange = history.add(last.user, text);
}
