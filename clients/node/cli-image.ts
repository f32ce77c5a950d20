// --image / --image-url for the CLI: the image is sent (image.put) before the question.
import { readFile } from 'node:fs/promises';
import type { CliConfig } from './cli-args.ts';
import type { VlpClient } from './sdk.ts';

/** --image / --image-url: sent before the question. */
export async function sendImage(client: VlpClient, cfg: CliConfig): Promise<{ image?: string; imageBytes?: Uint8Array }> {
  if (cfg.image === undefined) return {};
  const image = 'cli-image';
  if ('path' in cfg.image) {
    const imageBytes = new Uint8Array(await readFile(cfg.image.path));
    client.putImage(image, imageBytes);
    return { image, imageBytes };
  }
  client.send({ t: 'image.put', id: image, url: cfg.image.url });
  return { image };
}
