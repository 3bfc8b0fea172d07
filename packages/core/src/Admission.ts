/**
 * Admission: the check a submission passes before it becomes a job, so a user who sends the wrong file hears it at
 * once (not a PDF nor an image, encrypted, unreadable, too many pixels) instead of from a failed job later. Optional: without it, every file is
 * accepted and the job's handler reports what is wrong.
 */
import type { CorruptPdf, EmptyFile, EncryptedPdf, ImageTooLarge, ImageUnreadable, NotAPdf } from "@scriptorium/api"
import { Context, type Effect } from "effect"

/** What admission learned about an accepted file. */
export interface Admitted {
  /** The page count, when the check could read it cheaply; shown in the job's status from the start. */
  readonly total_pages?: number | undefined
}

/** The errors of a refused submission. */
export type AdmissionError = EmptyFile | NotAPdf | EncryptedPdf | CorruptPdf | ImageTooLarge | ImageUnreadable

/** Checks a submission's content before a job is created. */
export interface Admission {
  readonly check: (input: {
    readonly filename: string
    readonly bytes: Uint8Array
  }) => Effect.Effect<Admitted, AdmissionError>
}

/** The Admission service. */
export const Admission = Context.GenericTag<Admission>("@scriptorium/core/Admission")
