/**
 * The contract between the Worker and the code that does a job's work (the document pipeline, or a user's own):
 * what the handler is given, and how it reports a failure. A handler that resumes skips the pages in `done`.
 */
import type { Job, LeaseLost, StoreUnavailable } from "@scriptorium/api"
import { Data, type Effect } from "effect"
import type { Lease } from "./JobStore.js"

/** What a handler gets for one attempt at one job. */
export interface JobContext {
  readonly job: Job
  readonly lease: Lease
  /** The attempt number, from 1. */
  readonly attempt: number
  /** Pages (0-based) checkpointed by earlier attempts: their output is stored, skip them. */
  readonly done: ReadonlySet<number>
  /** Records the page count once known. */
  readonly setTotalPages: (total: number) => Effect.Effect<void, LeaseLost | StoreUnavailable>
  /** Records that a page's output is stored; a later attempt will skip it. Store the output first. */
  readonly checkpoint: (page: number) => Effect.Effect<void, LeaseLost | StoreUnavailable>
}

/** The work of one job. It may fail with anything; `JobFailure` controls the message and whether to retry. */
export type JobHandler<R = never> = (context: JobContext) => Effect.Effect<void, unknown, R>

/**
 * A failure the handler understands: `message` becomes the job's error_message (write it for the user: what is
 * wrong and what to do), `retryable` says whether another attempt could succeed.
 */
export class JobFailure extends Data.TaggedError("JobFailure")<{
  readonly message: string
  readonly retryable: boolean
}> {}
