/**
 * The handlers of seed 001's routes (their groups in `ScriptoriumApi`), written on the Scriptorium facade only (never
 * on a store), so HTTP sees the same jobs and the same errors as every other way in. Each route answers with the
 * contract's shapes (`SeedApi` in @scriptorium/api); every failure is one of the contract's errors, sent as
 * `{ error, message, detail, ...fields }`.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import {
  BlobNotFound,
  IdempotencyConflict,
  InvalidBlobKey,
  InvalidCursor,
  InvalidStatusFilter,
  type Job,
  JobStatus,
  processPdfMessage,
  ScriptoriumApi
} from "@scriptorium/api"
import { collectBytes, DocumentHandler, Scriptorium } from "@scriptorium/core"
import { Effect, Layer, Schema, Stream } from "effect"
import { readUpload } from "./internal/Upload.js"

/** What the seed handlers need to know. */
export interface SeedHandlersConfig {
  /** The largest upload accepted, in bytes. */
  readonly maxUploadBytes: number
  /** Whether the document models are loaded, for `/health`. */
  readonly modelLoaded: Effect.Effect<boolean>
}

/** The names under which the document pipeline stores a job's results (`JobFiles.outputKey`). */
export const outputNames = {
  markdown: DocumentHandler.outputs.markdown,
  markdownDet: DocumentHandler.outputs.markdownDet,
  layoutPdf: DocumentHandler.outputs.layoutPdf,
  imagesFolder: "images/"
} as const

// Errors a seed route cannot meet: a job id we generated is always a valid key; seed routes send no idempotency key
// and no cursor.
type Impossible = InvalidBlobKey | IdempotencyConflict | InvalidCursor

const isImpossible = (e: unknown): e is Impossible =>
  e instanceof InvalidBlobKey || e instanceof IdempotencyConflict || e instanceof InvalidCursor

/** Turns the errors a seed route cannot meet into defects, so they never leak into the contract. */
const impossible = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Impossible>, R> =>
  Effect.catchAll(effect, (e) => isImpossible(e) ? Effect.die(e) : Effect.fail(e as Exclude<E, Impossible>))

const isJobStatus = Schema.is(JobStatus)

/** Every job, newest first, following the store's cursor to the end. */
const allJobs = (scriptorium: Scriptorium.Scriptorium, status: JobStatus | undefined) =>
  Effect.gen(function*() {
    const jobs: Array<Job> = []
    let cursor: string | undefined
    do {
      const page = yield* scriptorium.list({ status, limit: 1000, cursor })
      jobs.push(...page.jobs)
      cursor = page.next_cursor ?? undefined
    } while (cursor !== undefined)
    return jobs
  })

/** Natural order of image names, so `2_0.jpg` comes before `10_0.jpg`. */
const byName = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true })

const contentTypeOf = (name: string): string => {
  const lower = name.toLowerCase()
  if (lower.endsWith(".jpg") || lower.endsWith(".jpeg")) return "image/jpeg"
  if (lower.endsWith(".png")) return "image/png"
  if (lower.endsWith(".pdf")) return "application/pdf"
  return "application/octet-stream"
}

/** The handlers of the `jobs` group: upload, status, list, delete. */
export const jobsLayer = (config: SeedHandlersConfig) =>
  HttpApiBuilder.group(ScriptoriumApi, "jobs", (handlers) =>
    Effect.gen(function*() {
      const scriptorium = yield* Scriptorium.Scriptorium
      return handlers
        // the body is read as it arrived, not through the declared multipart payload (see internal/Upload.ts)
        .handle("processPdf", ({ request }) =>
          readUpload(
            {
              contentType: request.headers["content-type"],
              contentLength: request.headers["content-length"],
              body: request.stream
            },
            config.maxUploadBytes
          ).pipe(
            Effect.flatMap((upload) => scriptorium.submit<never>({ filename: upload.filename, content: upload.content })),
            impossible,
            Effect.map((job) => ({ job_id: job.job_id, status: "pending" as const, message: processPdfMessage }))
          ))
        .handle("status", ({ path }) => scriptorium.status(path.job_id))
        .handle("tasks", ({ urlParams }) =>
          Effect.gen(function*() {
            const status = urlParams.status
            if (status !== undefined && !isJobStatus(status)) {
              return yield* Effect.fail(new InvalidStatusFilter({ status }))
            }
            const tasks = yield* impossible(allJobs(scriptorium, status))
            return { tasks, count: tasks.length }
          }))
        .handle("delete", ({ path }) =>
          scriptorium.delete(path.job_id).pipe(
            impossible,
            Effect.as({ job_id: path.job_id, status: "deleted" as const })
          ))
    }))

/** The handlers of the `results` group: markdown, markdown_det, layout_pdf, images. */
export const resultsLayer = HttpApiBuilder.group(ScriptoriumApi, "results", (handlers) =>
  Effect.gen(function*() {
    const scriptorium = yield* Scriptorium.Scriptorium

    const text = (jobId: string, name: string) =>
      collectBytes(scriptorium.result(jobId, name)).pipe(
        impossible,
        Effect.map((bytes) => ({
          job_id: jobId,
          status: "completed" as const,
          content: new TextDecoder().decode(bytes)
        }))
      )

    /** Streams an output, after checking (with its own status code) that the job is done and the output exists. */
    const download = (jobId: string, name: string) =>
      Effect.gen(function*() {
        const outputs = yield* impossible(scriptorium.outputs(jobId))
        if (!outputs.includes(name)) return yield* Effect.fail(new BlobNotFound({ key: name }))
        return HttpServerResponse.stream(Stream.orDie(scriptorium.result(jobId, name)), {
          contentType: contentTypeOf(name)
        })
      })

    return handlers
      .handle("markdown", ({ path }) => text(path.job_id, outputNames.markdown))
      .handle("markdownDet", ({ path }) => text(path.job_id, outputNames.markdownDet))
      .handle("layoutPdf", ({ path }) => download(path.job_id, outputNames.layoutPdf))
      .handle("images", ({ path }) =>
        Effect.gen(function*() {
          const outputs = yield* impossible(scriptorium.outputs(path.job_id))
          const images = outputs
            .filter((name) => name.startsWith(outputNames.imagesFolder))
            .map((name) => name.slice(outputNames.imagesFolder.length))
            .sort(byName)
          return { job_id: path.job_id, status: "completed" as const, images, count: images.length }
        }))
      .handle("image", ({ path }) => download(path.job_id, `${outputNames.imagesFolder}${path.image_name}`))
  }))

/** The handler of `/health`. */
export const healthLayer = (config: SeedHandlersConfig) =>
  HttpApiBuilder.group(ScriptoriumApi, "health", (handlers) =>
    handlers.handle("health", () =>
      Effect.map(config.modelLoaded, (model_loaded) => ({ status: "healthy" as const, model_loaded }))))

/** All of seed 001's handlers; they need the Scriptorium facade and the Authorization middleware. */
export const layer = (config: SeedHandlersConfig) =>
  Layer.mergeAll(jobsLayer(config), resultsLayer, healthLayer(config))
