// Labels: every label described, the fleet's servable set, and INPUT_INTENT_UNSUPPORTED for the rest.
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../protocol/errors.ts';
import { INTENT_LABELS, LABEL_INFO, isServable, unsupportedCode } from './labels.ts';

describe('intent labels', () => {
  it('describes every label', () => {
    expect(INTENT_LABELS).toHaveLength(10);
    for (const l of INTENT_LABELS) expect(LABEL_INFO[l].description.length).toBeGreaterThan(10);
  });

  it('serves detect/segment/mask on Grounded-SAM, vqa/caption on the VLM, chat on the LLM', () => {
    expect(INTENT_LABELS.filter(isServable)).toEqual(['detect', 'segment', 'mask', 'vqa', 'caption', 'chat']);
    expect(LABEL_INFO.segment.servedBy).toBe('grounded-sam');
    expect(LABEL_INFO.caption.servedBy).toBe('vlm');
    expect(LABEL_INFO.chat.servedBy).toBe('llm');
  });

  it('flags the generation labels as unsupported with a catalogued code', () => {
    for (const l of ['inpaint', 'upscale', 'image_to_image', 'text_to_image'] as const) {
      expect(unsupportedCode(l)).toBe('INPUT_INTENT_UNSUPPORTED');
    }
    expect(unsupportedCode('vqa')).toBeNull();
    expect(ERRORS.INPUT_INTENT_UNSUPPORTED).toBeDefined();
  });
});
