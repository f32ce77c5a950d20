// The simulator's own small COCO RLE encoder (the sim never imports src/): counts of a filled
// ellipse inside a pixel box, column-major starting with zeros, and pycocotools' string form.

/** Counts of the ellipse inscribed in box [x0, y0, x1, y1]; a pixel is in when its centre is. */
export function ellipseCounts(box: readonly [number, number, number, number], h: number, w: number): number[] {
  const [x0, y0, x1, y1] = box;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const rx = (x1 - x0) / 2;
  const ry = (y1 - y0) / 2;
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  const add = (v: number, n: number): void => {
    if (n <= 0) return;
    if (v !== value) {
      counts.push(run);
      run = 0;
      value = v;
    }
    run += n;
  };
  for (let x = 0; x < w; x++) {
    let top = 0;
    let bottom = 0;
    const d = rx > 0 ? (x + 0.5 - cx) / rx : 2;
    if (ry > 0 && Math.abs(d) <= 1) {
      const half = ry * Math.sqrt(1 - d * d);
      top = Math.max(0, Math.ceil(cy - half - 0.5));
      bottom = Math.max(top, Math.min(h, Math.floor(cy + half - 0.5) + 1));
    }
    add(0, top);
    add(1, bottom - top);
    add(0, h - bottom);
  }
  counts.push(run);
  return counts;
}

/** cocoapi maskApi.c rleToString. */
export function rleString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = (counts[i] as number) - (i > 2 ? (counts[i - 2] as number) : 0);
    let more = true;
    while (more) {
      const c = ((x % 32) + 32) % 32;
      x = Math.floor(x / 32);
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      s += String.fromCharCode((more ? c | 0x20 : c) + 48);
    }
  }
  return s;
}
