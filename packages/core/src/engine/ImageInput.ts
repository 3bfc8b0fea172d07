/**
 * ImageInput: page images uploaded instead of a PDF (PNG, JPEG, TIFF, WebP), turned into pages of raw pixels for
 * OCR with sharp. The type is sniffed from the first bytes; a multi-page TIFF gives one page per frame, every other
 * file one page. A page decodes to 8-bit sRGB, three channels, whatever it was stored as (CMYK, 16-bit, greyscale,
 * palette), with its alpha flattened on white and its EXIF orientation applied, and is scaled down when it has more
 * pixels than `maxPixels`. An image whose header claims more than `maxInputPixels` (a 20000 x 20000 "bomb" is a
 * few kilobytes of PNG) is refused before any pixel is decoded; an empty, zero-size or corrupt file is refused with
 * its own error. sharp decodes on libuv's thread pool, never on the event loop.
 */
import { EmptyFile, ImageTooLarge, ImageUnreadable } from "@scriptorium/api"
import { Effect } from "effect"
import sharp from "sharp"
import { asClause } from "../internal/ErrorText.js"
import { MAX_INPUT_PIXELS, MAX_RASTER_PIXELS, positiveOr } from "../internal/Limits.js"

/** The image formats accepted as page images. */
export type ImageFormat = "png" | "jpeg" | "tiff" | "webp"

export { ImageTooLarge, ImageUnreadable }

/** Why an image upload cannot be used. */
export type ImageInputError = EmptyFile | ImageTooLarge | ImageUnreadable

/** What the header of an image says. */
export interface ImageInfo {
  readonly format: ImageFormat
  /** Pages: the frames of a multi-page TIFF, 1 for anything else. */
  readonly pages: number
  /** The first page's size in pixels. */
  readonly width: number
  readonly height: number
}

/** One page decoded: 8-bit sRGB, row after row with no padding, `width * height * 3` bytes. */
export interface ImagePage {
  /** From 0. */
  readonly page: number
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  readonly channels: 3
  /** The stored size, before any scaling down to `maxPixels`. */
  readonly originalWidth: number
  readonly originalHeight: number
}

/** The limits of decoding; every field has a default. */
export interface ImageLimits {
  /** A page with more pixels than this is refused (ImageTooLarge), before decoding. Default 100 million. */
  readonly maxInputPixels?: number | undefined
  /** A page with more pixels than this is scaled down to it when decoded. Default 40 million, like PDF pages. */
  readonly maxPixels?: number | undefined
}

/** The most pixels an uploaded page may have when not told (a 10,000 x 10,000 image). */
export const DEFAULT_MAX_INPUT_PIXELS = MAX_INPUT_PIXELS

/** The most pixels a decoded page has when not told; larger pages are scaled down. */
export const DEFAULT_MAX_PIXELS = MAX_RASTER_PIXELS

/** More TIFF frames than a job takes: a header claiming more is corrupt. */
const MAX_PAGES = 10_000

/** The accepted image format of `bytes`, by their first bytes; undefined for anything else (a PDF included). */
export const sniff = (bytes: Uint8Array): ImageFormat | undefined => {
  const at = (i: number, ...values: Array<number>) => values.every((v, j) => bytes[i + j] === v)
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png"
  if (at(0, 0xff, 0xd8, 0xff)) return "jpeg"
  // classic TIFF and BigTIFF, both byte orders
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return "tiff"
  if (at(0, 0x49, 0x49, 0x2b, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2b)) return "tiff"
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "webp"
  return undefined
}

const limitsOf = (limits: ImageLimits) => ({
  maxInputPixels: positive(limits.maxInputPixels, DEFAULT_MAX_INPUT_PIXELS),
  maxPixels: positive(limits.maxPixels, DEFAULT_MAX_PIXELS)
})

const positive = (value: number | undefined, fallback: number): number => Math.floor(positiveOr(value, fallback))


/** Fails at once, without sharp, when the bytes are empty or not an accepted image. */
const formatOf = (bytes: Uint8Array, filename: string): Effect.Effect<ImageFormat, EmptyFile | ImageUnreadable> => {
  if (bytes.byteLength === 0) return Effect.fail(new EmptyFile({ filename }))
  const format = sniff(bytes)
  return format === undefined
    ? Effect.fail(new ImageUnreadable({ filename, format: "image", reason: "not a PNG, JPEG, TIFF or WebP file" }))
    : Effect.succeed(format)
}

/** A page's header, checked against the limit: reading a header decodes no pixels. */
const pageHeader = (bytes: Uint8Array, filename: string, format: ImageFormat, page: number, limit: number) =>
  Effect.gen(function*() {
    const meta = yield* Effect.tryPromise({
      try: () => sharp(bytes, { page, pages: 1, limitInputPixels: false, failOn: "none" }).metadata(),
      catch: (error) => new ImageUnreadable({ filename, format, reason: asClause(error) })
    })
    const width = meta.autoOrient?.width ?? meta.width ?? 0
    const height = meta.autoOrient?.height ?? meta.height ?? 0
    if (!(width > 0 && height > 0)) {
      return yield* new ImageUnreadable({ filename, format, reason: `it is ${width} x ${height} pixels` })
    }
    if (width * height > limit) {
      return yield* new ImageTooLarge({ filename, width, height, limit_pixels: limit })
    }
    return { meta, width, height }
  })

/** Reads an image's header: its format, page count and first page's size. Decodes no pixels. */
export const inspect = (
  bytes: Uint8Array,
  filename: string,
  limits: ImageLimits = {}
): Effect.Effect<ImageInfo, ImageInputError> =>
  Effect.gen(function*() {
    const format = yield* formatOf(bytes, filename)
    const { maxInputPixels } = limitsOf(limits)
    const { meta, width, height } = yield* pageHeader(bytes, filename, format, 0, maxInputPixels)
    const frames = format === "tiff" ? Math.max(1, meta.pages ?? 1) : 1
    if (frames > MAX_PAGES) {
      return yield* new ImageUnreadable({ filename, format, reason: `it claims ${frames} pages` })
    }
    return { format, pages: frames, width, height }
  })

/** The size in pixels of page `page` (from 0), as displayed (EXIF orientation applied). Decodes no pixels. */
export const pageSize = (
  bytes: Uint8Array,
  filename: string,
  page: number,
  limits: ImageLimits = {}
): Effect.Effect<{ readonly width: number; readonly height: number }, ImageInputError> =>
  Effect.flatMap(formatOf(bytes, filename), (format) =>
    Effect.map(
      pageHeader(bytes, filename, format, page, limitsOf(limits).maxInputPixels),
      ({ height, width }) => ({ width, height })
    ))

/**
 * Decodes page `page` (from 0) to 8-bit sRGB: CMYK and 16-bit converted, alpha flattened on white, EXIF
 * orientation applied, scaled down to `maxPixels` when larger. A page over `maxInputPixels` is refused unread.
 */
export const decodePage = (
  bytes: Uint8Array,
  filename: string,
  page: number,
  limits: ImageLimits = {}
): Effect.Effect<ImagePage, ImageInputError> =>
  Effect.gen(function*() {
    const format = yield* formatOf(bytes, filename)
    const { maxInputPixels, maxPixels } = limitsOf(limits)
    const { height, width } = yield* pageHeader(bytes, filename, format, page, maxInputPixels)
    const scale = width * height > maxPixels ? Math.sqrt(maxPixels / (width * height)) : 1
    const { data, info } = yield* Effect.tryPromise({
      try: () => {
        let image = sharp(bytes, { page, pages: 1, limitInputPixels: maxInputPixels, failOn: "error" })
          .autoOrient()
        if (scale < 1) {
          image = image.resize({
            width: Math.max(1, Math.floor(width * scale)),
            height: Math.max(1, Math.floor(height * scale)),
            fit: "inside"
          })
        }
        return image
          .flatten({ background: { r: 255, g: 255, b: 255 } })
          .toColourspace("srgb")
          .removeAlpha()
          .raw({ depth: "uchar" })
          .toBuffer({ resolveWithObject: true })
      },
      catch: (error) => new ImageUnreadable({ filename, format, reason: asClause(error) })
    })
    if (info.channels !== 3 || data.byteLength !== info.width * info.height * 3) {
      return yield* new ImageUnreadable({
        filename,
        format,
        reason: `it decoded to ${info.channels} channels of ${info.width} x ${info.height}, not RGB`
      })
    }
    return {
      page,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: 3,
      originalWidth: width,
      originalHeight: height
    }
  })
