// The colour of a detected instance in the clients' overlays (the CLI's PNG, the browser canvas),
// by its instance id, so the same id looks the same everywhere.
const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60],
];

export function instanceColor(id: number): readonly [number, number, number] {
  return PALETTE[Math.abs(Math.trunc(id)) % PALETTE.length] as readonly [number, number, number];
}
