// Default limits of the image module, in one place so config and docs can quote them. Every
// function takes its limits as arguments; these are only the values a caller starts from.

const MiB = 1024 * 1024;

/** inspectImage limits. 6 MiB matches protocol's max `image.put.data`; 50 MP admits 48 MP phone
 *  photos (8064×6048); 16 384 px is above WebP's own 16 383 px maximum side. */
export const DEFAULT_IMAGE_LIMITS = {
  maxBytes: 6 * MiB,
  maxPixels: 50_000_000,
  maxSide: 16_384,
} as const;

/** fetchImage policy, without the allowlist (deployment-specific; empty = every URL refused). */
export const DEFAULT_FETCH_LIMITS = {
  allowPrivate: false,
  maxBytes: 6 * MiB,
  timeoutMs: 10_000,
  maxRedirects: 3,
} as const;

/** TGI's default `--payload-limit`: the whole JSON request body, bytes. */
export const TGI_REQUEST_LIMIT_BYTES = 2_000_000;

/** Longest side sent to a VLM. IDEFICS (v1) resizes to 224 px itself; 1024 px keeps detail for
 *  larger vision encoders while keeping JPEGs around 100-300 KB. */
export const DEFAULT_VLM_MAX_SIDE = 1024;

/** ImageStore bounds per session: images kept, and their total bytes. */
export const DEFAULT_STORE_LIMITS = {
  maxImages: 8,
  maxBytes: 24 * MiB,
} as const;
