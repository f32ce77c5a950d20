// Fitting a session's stored image into what a backend accepts: the vision model's request limit
// (downscaled if need be) or the segmenter's (re-encoded at its own size, so boxes and masks stay in
// its pixels).
import { VlpError } from '../../protocol/errors.ts';
import type { ChatMessage } from '../backends/ports.ts';
import { base64Budget, dataUri, fitImage } from '../images/fit.ts';
import { DEFAULT_VLM_MAX_SIDE } from '../images/defaults.ts';
import type { StoredImage } from '../images/types.ts';
import type { ModelEntry } from '../models.ts';

/** `messages` with the image, fitted into the model's request limit, on the last (user) message. */
export async function withFittedImage(messages: ChatMessage[], img: StoredImage, entry: ModelEntry): Promise<ChatMessage[]> {
  // Prompt bytes: the text of every message plus few-shot examples and JSON overhead.
  const promptBytes = messages.reduce((n, m) => n + Buffer.byteLength(m.content) + 16, 0) + JSON.stringify(entry.config.fewShot).length + 1024;
  const budget = base64Budget(entry.config.requestLimitBytes, promptBytes);
  const fitted = await fitImage(img.bytes, img, { maxBytes: budget, maxSide: DEFAULT_VLM_MAX_SIDE });
  const last = messages[messages.length - 1] as ChatMessage;
  last.images = [dataUri(fitted.bytes, fitted.mime)];
  return messages;
}

/** The image as the segmenter gets it: re-encoded at its own size when its base64 form would not
 *  fit the service's request limit. Throws INPUT_IMAGE_TOO_LARGE when even that does not fit. */
export async function fitForSegmenter(img: StoredImage, requestLimitBytes: number): Promise<StoredImage> {
  const maxBytes = base64Budget(requestLimitBytes, 2048);
  if (img.bytes.byteLength <= maxBytes) return img;
  const fitted = await fitImage(img.bytes, img, { maxBytes, maxSide: Math.max(img.width, img.height) });
  if (fitted.width !== img.width || fitted.height !== img.height) {
    throw new VlpError('INPUT_IMAGE_TOO_LARGE', `the image is too large for the segmentation service (request limit ${requestLimitBytes} bytes) even re-encoded; send a smaller image`);
  }
  return { ...img, bytes: fitted.bytes, mime: fitted.mime };
}
