// Draws a segment turn's result onto its image: each instance's mask tinted in its own colour and
// its box outlined, written as a PNG (for `vlp --image photo.jpg --save out.png "segment the dog"`).
import sharp from 'sharp';
import type { DetectBoxesMsg, MaskFrameMsg } from '../../protocol/messages.ts';
import { decodeCounts, stringToCounts } from '../../protocol/rle.ts';
import { instanceColor } from '../../protocol/instance-colors.ts';

/** Mask tint opacity (0..1). */
const ALPHA = 0.45;

export async function renderOverlay(image: Uint8Array, boxes: DetectBoxesMsg | undefined, masks: MaskFrameMsg[], outPath: string): Promise<void> {
  const { data, info } = await sharp(image).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  for (const m of masks) {
    const [mh, mw] = m.rle.size;
    if (mh !== h || mw !== w) throw new Error(`mask ${m.id} is ${mw}x${mh}, the image is ${w}x${h}`);
    const px = decodeCounts(stringToCounts(m.rle.counts), mh, mw);
    const [r, g, b] = instanceColor(m.id);
    for (let k = 0; k < px.length; k++) {
      if (px[k] !== 1) continue;
      const o = k * 4;
      data[o] = Math.round((data[o] as number) * (1 - ALPHA) + r * ALPHA);
      data[o + 1] = Math.round((data[o + 1] as number) * (1 - ALPHA) + g * ALPHA);
      data[o + 2] = Math.round((data[o + 2] as number) * (1 - ALPHA) + b * ALPHA);
    }
  }
  for (const box of boxes?.boxes ?? []) {
    const [r, g, b] = instanceColor(box.id);
    const [x0, y0, x1, y1] = box.box.map((v, i) => Math.max(0, Math.min(Math.round(v), (i % 2 === 0 ? w : h) - 1))) as [number, number, number, number];
    const paint = (x: number, y: number): void => {
      const o = (y * w + x) * 4;
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
      data[o + 3] = 255;
    };
    for (let t = 0; t < 2; t++) {
      for (let x = x0; x <= x1; x++) {
        paint(x, Math.min(h - 1, y0 + t));
        paint(x, Math.max(0, y1 - t));
      }
      for (let y = y0; y <= y1; y++) {
        paint(Math.min(w - 1, x0 + t), y);
        paint(Math.max(0, x1 - t), y);
      }
    }
  }
  await sharp(data, { raw: { width: w, height: h, channels: 4 } }).png().toFile(outPath);
}
