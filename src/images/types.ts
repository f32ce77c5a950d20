// Shared shapes of the image module: the three accepted formats and what is known about an image
// once inspected. No logic here.

/** The only image types the gateway accepts (and the only ones IDEFICS on TGI is sent). */
export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp';

/** What inspectImage learned from the header of an image that also decoded. */
export interface ImageInfo {
  mime: ImageMime;
  /** Pixels, as the image is meant to be shown (after its EXIF orientation, if any). */
  width: number;
  height: number;
  /** The file stores its pixels rotated or mirrored (EXIF orientation 2..8); re-encoding fixes it. */
  oriented?: boolean;
  /** The image has an alpha channel. */
  hasAlpha?: boolean;
}

/** An image ready to be kept in a session and sent upstream. */
export interface StoredImage {
  bytes: Uint8Array;
  mime: ImageMime;
  width: number;
  height: number;
}
