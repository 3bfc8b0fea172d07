/**
 * Where a job's files live in the BlobStore: `{job_id}/input` is the uploaded file, `{job_id}/output/{name}` the
 * results users download, `{job_id}/pages/...` the per-page checkpoints a resumed job reads back. One naming scheme,
 * used by the facade, the worker's handlers and the transports alike.
 */
import type { InvalidBlobKey } from "@scriptorium/api"
import { Effect } from "effect"
import { BlobKey } from "./BlobStore.js"

const key = (jobId: string, name: string): Effect.Effect<string, InvalidBlobKey> =>
  Effect.suspend(() => BlobKey.make(jobId, name))

/** The uploaded file of a job. */
export const inputKey = (jobId: string): Effect.Effect<string, InvalidBlobKey> => key(jobId, "input")

/** The folder of a job's results. */
export const outputPrefix = (jobId: string): string => `${jobId}/output/`

/** A result file of a job; `name` may contain folders (`images/0_1.jpg`) but never escape. */
export const outputKey = (jobId: string, name: string): Effect.Effect<string, InvalidBlobKey> =>
  key(jobId, `output/${name}`)

/** A page checkpoint of a job. */
export const pageKey = (jobId: string, page: number, name: string): Effect.Effect<string, InvalidBlobKey> =>
  key(jobId, `pages/${String(page).padStart(5, "0")}/${name}`)

/** Everything a job stored. */
export const jobPrefix = (jobId: string): Effect.Effect<string, InvalidBlobKey> => key(jobId, "")
