/**
 * PdfAdmission: the Admission check for PDFs and page images, built on PdfEngine.inspect and ImageInput.inspect. A
 * submission that is empty, neither a PDF nor an accepted image, encrypted or unreadable is refused at once with its
 * own error; an accepted one starts with its page count (an image's: its frames). The check is bounded in time and
 * memory: a file that needs longer or more is admitted without a page count, and its job reports what is wrong.
 */
import { Duration, Effect, Layer } from "effect"
import { Admission, type AdmissionError, type Admitted } from "../Admission.js"
import * as ImageInput from "./ImageInput.js"
import { PdfEngine } from "./PdfEngine.js"

/** How long the check may take. */
export interface PdfAdmissionConfig {
  /** After this, the file is admitted without a page count; default 5 s. */
  readonly timeoutMs?: number | undefined
}

/** The Admission check over the PdfEngine in context. */
export const make = (config: PdfAdmissionConfig = {}): Effect.Effect<Admission, never, PdfEngine> =>
  Effect.map(PdfEngine, (engine) => ({
    check: ({ bytes, filename }) =>
      (ImageInput.sniff(bytes) !== undefined
        ? checkImage(bytes, filename)
        : Effect.map(engine.inspect(bytes, filename), (info): Admitted => ({ total_pages: info.pages })).pipe(
          // out of memory is a limit of this engine, not proof the file is bad: the job will say what happened
          Effect.catchTag("PdfOutOfMemory", () => Effect.succeed<Admitted>({}))
        )).pipe(
        // the timeout interrupts the inspection, which stops its thread
        Effect.timeoutTo({
          duration: Duration.millis(config.timeoutMs ?? 5_000),
          onSuccess: (admitted): Admitted => admitted,
          onTimeout: (): Admitted => ({})
        })
      )
  }))

/** An image's page count from its header; an image that cannot be decoded or has too many pixels is refused. */
const checkImage = (bytes: Uint8Array, filename: string): Effect.Effect<Admitted, AdmissionError> =>
  Effect.map(ImageInput.inspect(bytes, filename), (info): Admitted => ({ total_pages: info.pages }))

/** The check as a layer; it needs a PdfEngine (`PdfEngine.layer()`). */
export const layer = (config: PdfAdmissionConfig = {}): Layer.Layer<Admission, never, PdfEngine> =>
  Layer.effect(Admission, make(config))
