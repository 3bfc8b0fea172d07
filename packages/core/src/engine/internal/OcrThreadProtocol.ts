/** The messages between OcrThreads (main side) and an OCR thread. */
import type { OcrLineText, OcrPage, RawImage, RecognizeOptions } from "../OcrEngine.js"

/** A page to detect and read, or a single line to read; the image's buffer is transferred. */
export interface OcrThreadRequest {
  readonly id: number
  readonly type: "page" | "line"
  readonly image: RawImage
  readonly options?: RecognizeOptions | undefined
}

/** The engine's error, as plain fields. */
export type OcrThreadError =
  | { readonly _tag: "InvalidImage"; readonly reason: string }
  | { readonly _tag: "OcrRuntimeError"; readonly stage: string; readonly reason: string }

/** The answer to request `id`; or, once, that the thread's engine is built (or failed to build). */
export type OcrThreadReply =
  | { readonly type: "ready" }
  | { readonly id: number; readonly type: "done"; readonly value: OcrPage | OcrLineText }
  | { readonly id: number; readonly type: "failed"; readonly error: OcrThreadError }
