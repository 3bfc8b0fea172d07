/**
 * The client with plain Promises, for code that doesn't use Effect: `createClient({ baseUrl, token })`. Each method is
 * the Effect API's (ScriptoriumClient.ts) run to a Promise; a rejection is the typed error itself (an instance of the
 * api's error class, `ClientError` or `ServerUnreachable`), so `error instanceof JobNotFound` and `error._tag` work.
 */
import { FetchHttpClient } from "@effect/platform"
import type { Job, JobList, JobResult, JobView, SubmitResponse } from "@scriptorium/api"
import { Cause, Effect, Exit, Stream } from "effect"
import {
  type ClientOptions,
  type GetOptions,
  type ListQuery,
  make,
  type SubmitInput,
  type SubmitOptions,
  type WaitOptions,
  type WatchOptions
} from "./ScriptoriumClient.js"

/** The client's Promise API. */
export interface Client {
  /** `POST /v1/jobs`: the file as multipart, or `file_url` as JSON; async (202) unless `async: false`. */
  submit(input: SubmitInput, options?: SubmitOptions): Promise<SubmitResponse>
  /** Seed 001's `POST /process_pdf`. */
  processPdf(filename: string, content: Uint8Array): Promise<{ job_id: string; status: "pending"; message: string }>
  /** `GET /v1/jobs/{id}` (`wait`: long-poll up to that many seconds). */
  get(id: string, options?: GetOptions): Promise<JobView>
  /** Seed 001's `GET /result/{id}/status`. */
  status(id: string): Promise<Job>
  /** `GET /v1/jobs`: a page of jobs, newest first. */
  list(query?: ListQuery): Promise<JobList>
  /** `DELETE /v1/jobs/{id}`: cancels a pending or running job. */
  cancel(id: string): Promise<void>
  /** `GET /v1/jobs/{id}/result`. */
  result(id: string): Promise<JobResult>
  /** Seed 001's `GET /result/{id}/markdown`. */
  markdown(id: string): Promise<string>
  /**
   * Polls until the job ends (250 ms doubling to 5 s by default); resolves with the completed job, rejects with
   * JobFailed, JobCancelled, WaitTimedOut, JobNotFound, Unauthorized, ClientError or ServerUnreachable.
   */
  waitForCompletion(id: string, options?: WaitOptions): Promise<Job>
  /**
   * The job's current state and each change over the WebSocket (polling when the socket cannot be opened), ending
   * after a terminal status; leaving the loop early closes the socket.
   */
  watch(id: string, options?: WatchOptions): AsyncIterable<Job>
}

/** A client of the Scriptorium server at `options.baseUrl`. */
export const createClient = (options: ClientOptions): Client => {
  const client = Effect.runSync(Effect.provide(make(options), FetchHttpClient.layer))
  return {
    submit: (input, submitOptions) => run(client.submit(input, submitOptions)),
    processPdf: (filename, content) => run(client.processPdf(filename, content)),
    get: (id, getOptions) => run(client.get(id, getOptions)),
    status: (id) => run(client.status(id)),
    list: (query) => run(client.list(query)),
    cancel: (id) => run(client.cancel(id)),
    result: (id) => run(client.result(id)),
    markdown: (id) => run(client.markdown(id)),
    waitForCompletion: (id, waitOptions) => run(client.waitForCompletion(id, waitOptions)),
    watch: (id, watchOptions) => Stream.toAsyncIterable(client.watch(id, watchOptions))
  }
}

/** Runs the call; a failure rejects with the error itself rather than Effect's FiberFailure wrapper. */
const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))
  )
