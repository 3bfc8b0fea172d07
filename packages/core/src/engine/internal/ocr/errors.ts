/**
 * The OCR engine's errors. Image files are decoded (and refused) by ImageInput; the engine itself only checks that a
 * raw pixel buffer is what it claims to be, and reports failures inside the model runtime.
 */
import { Schema } from "effect"

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
export type OcrError = InvalidImage | OcrRuntimeError
