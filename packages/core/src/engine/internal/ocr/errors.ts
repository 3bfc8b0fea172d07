/**
 * The OCR engine's errors. A bad image is the user's doing and has its own tag; a failure inside the model runtime
 * is not.
 */
import { Schema } from "effect"

/** An image with no pixels (zero width or height, or an empty file). */
export class EmptyImage extends Schema.TaggedError<EmptyImage>()("EmptyImage", {
  width: Schema.Number,
  height: Schema.Number
}) {
  override get message() {
    return `The image has no pixels (${this.width} x ${this.height}); send an image with content.`
  }
}

/** An image with more pixels than the engine accepts (checked before any pixel memory is allocated). */
export class ImageTooLarge extends Schema.TaggedError<ImageTooLarge>()("ImageTooLarge", {
  width: Schema.Number,
  height: Schema.Number,
  maxPixels: Schema.Number
}) {
  override get message() {
    return `The image is ${this.width} x ${this.height} pixels, more than the limit of ` +
      `${Math.round(this.maxPixels / 1e6)} megapixels; scale it down before OCR.`
  }
}

/** Bytes that are not an image sharp can decode (corrupt, truncated or an unknown format). */
export class CorruptImage extends Schema.TaggedError<CorruptImage>()("CorruptImage", {
  reason: Schema.String
}) {
  override get message() {
    return `The image cannot be decoded (${this.reason}); check that the file is a complete PNG, JPEG, TIFF or WebP.`
  }
}

/** A raw image whose buffer does not match its declared size and channels. */
export class InvalidImage extends Schema.TaggedError<InvalidImage>()("InvalidImage", {
  reason: Schema.String
}) {
  override get message() {
    return `The raw image is invalid: ${this.reason}.`
  }
}

/** The model runtime failed (loading a model or running it). */
export class OcrRuntimeError extends Schema.TaggedError<OcrRuntimeError>()("OcrRuntimeError", {
  stage: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `OCR failed during ${this.stage}: ${this.reason}`
  }
}

/** Any error of the OCR engine. */
export type OcrError = EmptyImage | ImageTooLarge | CorruptImage | InvalidImage | OcrRuntimeError
