/**
 * PdfAdmission: the Admission check for PDFs, built on PdfEngine.inspect. A submission that is empty, not a PDF,
 * encrypted or unreadable is refused at once with its own error; an accepted one starts with its page count. The
 * check is bounded in time and memory: a file that needs longer or more is admitted without a page count, and its
 * job reports what is wrong.
 */
import { Duration, Effect, Layer } from "effect"
import { Admission, type Admitted } from "../Admission.js"
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
      engine.inspect(bytes, filename).pipe(
        Effect.map((info): Admitted => ({ total_pages: info.pages })),
        // out of memory is a limit of this engine, not proof the file is bad: the job will say what happened
        Effect.catchTag("PdfOutOfMemory", () => Effect.succeed<Admitted>({})),
        // the timeout interrupts the inspection, which stops its thread
        Effect.timeoutTo({
          duration: Duration.millis(config.timeoutMs ?? 5_000),
          onSuccess: (admitted): Admitted => admitted,
          onTimeout: (): Admitted => ({})
        })
      )
  }))

/** The check as a layer; it needs a PdfEngine (`PdfEngine.layer()`). */
export const layer = (config: PdfAdmissionConfig = {}): Layer.Layer<Admission, never, PdfEngine> =>
  Layer.effect(Admission, make(config))
