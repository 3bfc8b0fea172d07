/**
 * Decoding an encoded image file (PNG, JPEG, TIFF, WebP, GIF...) into packed 8-bit RGB with sharp, safely: the
 * header is read first and an image over the pixel limit is refused before any pixel memory is allocated; EXIF
 * orientation is applied; CMYK, greyscale, palette and 16-bit images are converted to 8-bit sRGB; alpha is
 * composited onto white. Truncated or corrupt data is an error, not a half-grey page.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { CorruptImage, EmptyImage, ImageTooLarge } from "./errors.js"
import type { RawImage } from "./rgbImage.js"

const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Decodes `bytes` to RGB, refusing images of more than `maxPixels` pixels. */
export const decodeImage = (
  bytes: Uint8Array,
  maxPixels: number
): Effect.Effect<RawImage, EmptyImage | ImageTooLarge | CorruptImage> =>
  Effect.gen(function*() {
    if (bytes.length === 0) return yield* new EmptyImage({ width: 0, height: 0 })
    const meta = yield* Effect.tryPromise({
      try: () => sharp(bytes, { limitInputPixels: false }).metadata(),
      catch: (e) => new CorruptImage({ reason: reasonOf(e) })
    })
    const width = meta.autoOrient?.width ?? meta.width ?? 0
    const height = meta.autoOrient?.height ?? meta.height ?? 0
    if (width === 0 || height === 0) return yield* new EmptyImage({ width, height })
    if (width * height > maxPixels) return yield* new ImageTooLarge({ width, height, maxPixels })
    const { data, info } = yield* Effect.tryPromise({
      try: () =>
        sharp(bytes, { limitInputPixels: maxPixels, failOn: "truncated", sequentialRead: true })
          .rotate()
          .flatten({ background: "#ffffff" })
          .toColourspace("srgb")
          .raw({ depth: "uchar" })
          .toBuffer({ resolveWithObject: true }),
      catch: (e) => new CorruptImage({ reason: reasonOf(e) })
    })
    if (info.channels !== 3) {
      return yield* new CorruptImage({ reason: `decoded to ${info.channels} channels instead of 3` })
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: 3
    } satisfies RawImage
  })
