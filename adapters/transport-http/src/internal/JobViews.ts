/**
 * A job as the /v1 routes show it (`JobView`): its status record, the URLs to follow and fetch it, its webhook's
 * delivery record, and its result inline where a route asks for it. Built on the facade and, when the server runs
 * one, the Webhooks service; without that service a job that names a webhook shows it as still `pending`.
 */
import {
  BlobNotFound,
  InvalidBlobKey,
  type Job,
  type JobCancelled,
  type JobFailed,
  type JobNotFinished,
  JobNotFound,
  type JobResult,
  type JobView,
  type StoreUnavailable,
  type Webhook
} from "@scriptorium/api"
import { collectBytes, DocumentHandler, type Scriptorium, Webhooks } from "@scriptorium/core"
import { Effect, Option } from "effect"

/** The URLs of a job, under the path the API is mounted at (`basePath`, "" at the root). */
export const urlsOf = (basePath: string, jobId: string) => {
  const id = encodeURIComponent(jobId)
  return {
    status_url: `${basePath}/v1/jobs/${id}`,
    result_url: `${basePath}/v1/jobs/${id}/result`,
    events_url: `${basePath}/result/${id}/events`
  }
}

/** The errors of reading a job's result inline. */
export type ResultViewError = JobNotFound | JobNotFinished | JobFailed | JobCancelled | StoreUnavailable

/** Builds job views. */
export interface JobViews {
  /** The job's view, without its result. */
  readonly view: (job: Job) => Effect.Effect<JobView, StoreUnavailable>
  /** The job's view, with a completed job's result inline. */
  readonly withResult: (job: Job) => Effect.Effect<JobView, JobNotFound | StoreUnavailable>
  /** A completed job's result: its markdown and the names of its outputs. */
  readonly result: (jobId: string) => Effect.Effect<JobResult, ResultViewError>
}

/** The job views over this facade, and the Webhooks service when there is one. */
export const make = (
  scriptorium: Scriptorium.Scriptorium,
  webhooks: Option.Option<Webhooks.Webhooks>,
  basePath: string
): JobViews => {
  const webhookOf = (job: Job): Effect.Effect<Webhook | null, StoreUnavailable> =>
    Option.match(webhooks, {
      onSome: (service) => Effect.map(service.get(job.job_id), Option.getOrNull),
      onNone: () => {
        const url = job.options[Webhooks.webhookUrlOption]
        return Effect.succeed(
          typeof url === "string" ? { url, state: "pending" as const, next_attempt_at: null, attempts: [] } : null
        )
      }
    })

  const text = (jobId: string, outputs: ReadonlyArray<string>, name: string) =>
    outputs.includes(name)
      ? Effect.map(collectBytes(scriptorium.result(jobId, name)), (bytes) => new TextDecoder().decode(bytes))
      : Effect.succeed("")

  const result = (jobId: string): Effect.Effect<JobResult, ResultViewError> =>
    Effect.gen(function*() {
      const outputs = yield* scriptorium.outputs(jobId)
      return {
        markdown: yield* text(jobId, outputs, DocumentHandler.outputs.markdown),
        markdown_det: yield* text(jobId, outputs, DocumentHandler.outputs.markdownDet),
        outputs
      }
    }).pipe(
      Effect.catchAll((e) =>
        // a listed output that is gone: the job was deleted meanwhile; a key built from a job id is always valid
        e instanceof BlobNotFound
          ? Effect.fail(new JobNotFound({ job_id: jobId }))
          : e instanceof InvalidBlobKey
          ? Effect.die(e)
          : Effect.fail(e)
      )
    )

  const view = (job: Job): Effect.Effect<JobView, StoreUnavailable> =>
    Effect.map(webhookOf(job), (webhook) => ({ ...job, ...urlsOf(basePath, job.job_id), webhook }))

  const withResult = (job: Job): Effect.Effect<JobView, JobNotFound | StoreUnavailable> =>
    job.status !== "completed" ? view(job) : Effect.gen(function*() {
      const inline = yield* result(job.job_id).pipe(
        // the job was completed when read, so only a deletion since (JobNotFound) or the store can fail here
        Effect.catchAll((e) =>
          e._tag === "JobNotFound" || e._tag === "StoreUnavailable" ? Effect.fail(e) : Effect.die(e)
        )
      )
      return { ...(yield* view(job)), result: inline }
    })

  return { view, withResult, result }
}
