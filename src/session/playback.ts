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
  /** Its gen.token texts, in order, joined. */
  streamed: string;
  /** The history entry it made, if any (a cancelled or failed answer makes none). */
  exchange: Exchange | undefined;
  /** The answer as first kept (gen.done.text: without a trailing stop sequence), if it was. */
  kept: string | undefined;
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
  let text = prefix(last.streamed, msg.heard_chars).trim();
  // Never more than the kept answer: the streamed text may end with the stop sequence it drops.
  if (last.kept !== undefined && text.length > last.kept.length) text = last.kept;
  if (last.exchange !== undefined) {
    if (last.exchange.assistant !== text) history.rewrite(last.exchange, text);
    return;
  }
  if (text.length > 0) last.exchange = history.add(last.user, text);
}
