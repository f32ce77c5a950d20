// Inline image references in TGI prompts: `![](url)`, the markdown form TGI's router extracts
// with the regex `!\[\]\([^\)]*\)` (backend-protocols.md §2.3) and fetches (http/https/data);
// and whether a request carries images at all.
import { VlpError } from '../../../protocol/errors.ts';
import type { ChatMessage } from '../ports.ts';

/** Scheme, then no `)` (it ends TGI's regex early) and no whitespace or control characters
 *  (a newline would let a URL smuggle `\nUser:` turn markers into the prompt). */
const SAFE_URL = /^(?:https?:\/\/|data:)[^\s)\p{Cc}]+$/iu;

/** Renders the images as consecutive `![](url)` references. Throws VlpError
 *  INPUT_IMAGE_URL_FORBIDDEN (the URL is never echoed) when one cannot be expressed safely. */
export function imageMarkdown(urls: readonly string[] | undefined): string {
  if (urls === undefined || urls.length === 0) return '';
  let out = '';
  for (const url of urls) {
    if (!SAFE_URL.test(url)) {
      throw new VlpError(
        'INPUT_IMAGE_URL_FORBIDDEN',
        'image URL must be http(s) or data: and contain no ")", whitespace or control characters',
      );
    }
    out += `![](${url})`;
  }
  return out;
}

/** Some message carries an image (a backend without vision must refuse the request). */
export function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.images !== undefined && m.images.length > 0);
}
