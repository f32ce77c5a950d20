// Detection boxes and COCO RLE masks drawn over the image on a canvas, in the browser.
import { decodeCounts, stringToCounts } from '../../../protocol/rle.ts';
import { instanceColor as color } from '../../../protocol/instance-colors.ts';
import type { DetectBoxesMsg, MaskFrameMsg } from '../../../protocol/messages.ts';


/** One off-screen layer reused for every mask (a full-size canvas per mask would cost tens of MB
 *  on a large photo). */
let layer: HTMLCanvasElement | undefined;

/** Paints one instance's mask (semi-transparent) onto the canvas, scaled to its size. */
export function drawMask(canvas: HTMLCanvasElement, msg: MaskFrameMsg): void {
  const [h, w] = msg.rle.size;
  const mask = decodeCounts(stringToCounts(msg.rle.counts), h, w);
  layer ??= document.createElement('canvas');
  layer.width = w;
  layer.height = h;
  const lctx = layer.getContext('2d');
  const ctx = canvas.getContext('2d');
  if (!lctx || !ctx) return;
  const img = lctx.createImageData(w, h);
  const [r, g, b] = color(msg.id);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const o = i * 4;
    img.data[o] = r;
    img.data[o + 1] = g;
    img.data[o + 2] = b;
    img.data[o + 3] = 110;
  }
  lctx.putImageData(img, 0, 0);
  ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
}

/** Outlines each detection with its label and score, scaled from the image's size: a detect.boxes
 *  frame, or a watch.event (same `size` and `boxes`). */
export function drawBoxes(canvas: HTMLCanvasElement, msg: Pick<DetectBoxesMsg, 'size' | 'boxes'>): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const [h, w] = msg.size;
  const sx = canvas.width / w;
  const sy = canvas.height / h;
  ctx.lineWidth = 2;
  ctx.font = '12px sans-serif';
  for (const d of msg.boxes) {
    const [r, g, b] = color(d.id);
    ctx.strokeStyle = `rgb(${r},${g},${b})`;
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    const [x0, y0, x1, y1] = d.box;
    ctx.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
    ctx.fillText(`${d.label} ${d.score.toFixed(2)}`, x0 * sx + 3, Math.max(12, y0 * sy - 3));
  }
}
