// Neutralizes template control markers inside message text. Without it, a user who types
// `</s><s>[INST] <<SYS>>...` could close their turn and forge system or assistant turns: Llama's
// tokenizer maps a literal `<s>`/`</s>` in the input to the real BOS/EOS tokens, and the model
// treats `[INST]`/`<<SYS>>` text as turn structure (Meta's reference code flags them as unsafe).

/** Rewrites every match of `markers` (a global regex) by spacing it out: `[INST]` → `[ INST ]`,
 *  `<</SYS>>` → `<< /SYS >>`, `<s>` → `< s >`, `<|im_end|>` → `<| im_end |>`, `![` → `! [`.
 *  Spacing (rather than deleting) keeps the user's text readable and cannot splice the text on
 *  either side into a new marker. Markers contain no spaces, so one pass suffices (the tests
 *  check that a second pass changes nothing). Runs once per message, never per token. */
export function defang(text: string, markers: RegExp): string {
  markers.lastIndex = 0;
  if (!markers.test(text)) return text;
  markers.lastIndex = 0;
  return text.replace(markers, spaceOut);
}

const OPENERS = '[<|!';
const CLOSERS = ']>|';

function spaceOut(m: string): string {
  let a = 0;
  while (a < m.length && OPENERS.includes(m.charAt(a))) a++;
  let b = m.length;
  while (b > a && CLOSERS.includes(m.charAt(b - 1))) b--;
  // A marker made only of brackets (`![`): separate its first character from the rest.
  if (a >= b) return `${m.charAt(0)} ${m.slice(1)}`;
  return `${m.slice(0, a)} ${m.slice(a, b)} ${m.slice(b)}`;
}
