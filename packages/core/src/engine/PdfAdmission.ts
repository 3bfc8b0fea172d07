/**
 * PdfAdmission: the Admission check for PDFs and page images, built on PdfEngine.inspect and ImageInput.inspect. A
 * submission that is empty, neither a PDF nor an accepted image, encrypted or unreadable is refused at once with its
 * own error; an accepted one starts with its page count (an image's: its frames). The check is bounded in time and
 * memory: a file that needs longer or more is admitted without a page count, and its job reports what is wrong.
 *
 * A well-formed PDF (the common upload) is admitted with the page count read from its structure on the calling
 * thread (`internal/PdfStructure.ts`: a fraction of a millisecond, with bounded work), which pdf.js would report on
 * opening it; pdf.js opens a copy in a reading thread only when that reader is unsure (encrypted, damaged, unusual),
 * and decides then with the errors above. Opening every upload with pdf.js cost ~9 ms of CPU and a copy per upload.
 */
import { Duration, Effect, Layer } from "effect"
import { Admission, type AdmissionError, type Admitted } from "../Admission.js"
import * as ImageInput from "./ImageInput.js"
import * as PdfStructure from "./internal/PdfStructure.js"
import { hasPdfHeader, PdfEngine } from "./PdfEngine.js"

/** How long the check may take. */
export interface PdfAdmissionConfig {
  /** After this, the file is admitted without a page count; default 5 s. */
  readonly timeoutMs?: number | undefined
}

/** The Admission check over the PdfEngine in context. */
export const make = (config: PdfAdmissionConfig = {}): Effect.Effect<Admission, never, PdfEngine> =>
  Effect.map(PdfEngine, (engine) => {
    // the timeout interrupts the inspection, which stops its thread
    const bounded = Effect.timeoutTo({
      duration: Duration.millis(config.timeoutMs ?? 5_000),
      onSuccess: (admitted: Admitted): Admitted => admitted,
      onTimeout: (): Admitted => ({})
    })
    return {
      check: ({ bytes, filename }) =>
        Effect.suspend(() => {
          if (ImageInput.sniff(bytes) !== undefined) return bounded(checkImage(bytes, filename))
          const pages = hasPdfHeader(bytes) ? PdfStructure.pageCount(bytes) : undefined
          return pages !== undefined
            ? Effect.succeed<Admitted>({ total_pages: pages })
            : bounded(inspect(engine, bytes, filename))
        })
    }
  })

/** What pdf.js, in a reading thread, makes of the file. */
const inspect = (engine: PdfEngine, bytes: Uint8Array, filename: string): Effect.Effect<Admitted, AdmissionError> =>
  Effect.map(engine.inspect(bytes, filename), (info): Admitted => ({ total_pages: info.pages })).pipe(
    // out of memory is a limit of this engine, not proof the file is bad: the job will say what happened
    Effect.catchTag("PdfOutOfMemory", () => Effect.succeed<Admitted>({}))
  )

/** An image's page count from its header; an image that cannot be decoded or has too many pixels is refused. */
const checkImage = (bytes: Uint8Array, filename: string): Effect.Effect<Admitted, AdmissionError> =>
  Effect.map(ImageInput.inspect(bytes, filename), (info): Admitted => ({ total_pages: info.pages }))

/** The check as a layer; it needs a PdfEngine (`PdfEngine.layer()`). */
export const layer = (config: PdfAdmissionConfig = {}): Layer.Layer<Admission, never, PdfEngine> =>
  Layer.effect(Admission, make(config))
