// Intent labels for a user turn, what each means, and which backend of the current fleet serves it
// (labels no backend serves are answered with INPUT_INTENT_UNSUPPORTED by the caller).

export type IntentLabel =
  | 'detect'
  | 'segment'
  | 'mask'
  | 'inpaint'
  | 'upscale'
  | 'image_to_image'
  | 'text_to_image'
  | 'vqa'
  | 'caption'
  | 'chat';

/** Backend that can serve a label, or null when the fleet has none. */
export type IntentServer = 'grounded-sam' | 'vlm' | 'llm' | null;

export interface IntentLabelInfo {
  description: string;
  servedBy: IntentServer;
  /** The label only makes sense with an image in the session. */
  needsImage: boolean;
}

export const INTENT_LABELS: readonly IntentLabel[] = [
  'detect', 'segment', 'mask', 'inpaint', 'upscale', 'image_to_image', 'text_to_image', 'vqa', 'caption', 'chat',
];

export const LABEL_INFO: Readonly<Record<IntentLabel, IntentLabelInfo>> = {
  detect: { description: 'find, locate, count or box objects in the image', servedBy: 'grounded-sam', needsImage: true },
  segment: { description: 'cut out or outline objects pixel-accurately', servedBy: 'grounded-sam', needsImage: true },
  mask: { description: 'produce a binary mask of named objects', servedBy: 'grounded-sam', needsImage: true },
  inpaint: { description: 'remove, erase or replace parts of the image', servedBy: null, needsImage: true },
  upscale: { description: 'raise resolution, sharpen or enhance the image', servedBy: null, needsImage: true },
  image_to_image: { description: 'restyle or transform the given image', servedBy: null, needsImage: true },
  text_to_image: { description: 'generate a new image from a text prompt', servedBy: null, needsImage: false },
  vqa: { description: 'answer a question about the image', servedBy: 'vlm', needsImage: true },
  caption: { description: 'write a caption or alt text for the image', servedBy: 'vlm', needsImage: true },
  chat: { description: 'plain dialogue with no image task', servedBy: 'llm', needsImage: false },
};

/** True when some backend of the current fleet serves the label. */
export function isServable(label: IntentLabel): boolean {
  return LABEL_INFO[label].servedBy !== null;
}

/** Error code the caller answers with for a label the fleet cannot serve, else null. */
export function unsupportedCode(label: IntentLabel): 'INPUT_INTENT_UNSUPPORTED' | null {
  return isServable(label) ? null : 'INPUT_INTENT_UNSUPPORTED';
}
