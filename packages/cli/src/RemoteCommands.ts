/**
 * The commands that talk to a running server through @scriptorium/client: `submit FILE [--wait]`, `status ID`,
 * `list [--status S]` and `cancel ID`. Each takes `--server` and `--token` (defaults: $SCRIPTORIUM_URL and
 * $SCRIPTORIUM_TOKEN). Results go to stdout, as plain lines or, with `--json`, as one JSON document a script can
 * parse; progress and errors go to stderr. The client's typed errors give the exit codes: 3 when the server cannot
 * be reached or refuses the token, 4 for an unknown job id, 1 when a waited-for job failed or was cancelled.
 */
import { Args, Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { type Job, type JobStatus, JobStatus as JobStatusSchema } from "@scriptorium/api"
import { type Client, createClient } from "@scriptorium/client"
import { Console, Effect, Option } from "effect"
import * as ExitCode from "./ExitCode.js"
import { wholeNumber } from "./internal/Flags.js"
import * as Progress from "./internal/Progress.js"

const server = Options.text("server").pipe(
  Options.withDescription("The server's base URL, e.g. http://localhost:8000; default: $SCRIPTORIUM_URL."),
  Options.optional
)

const token = Options.text("token").pipe(
  Options.withDescription("The server's bearer token (its AUTH_TOKEN); default: $SCRIPTORIUM_TOKEN."),
  Options.optional
)

const json = Options.boolean("json").pipe(
  Options.withDescription("Print the result as JSON (the API's job objects), for scripts.")
)

const connection = { server, token }

const jobId = Args.text({ name: "ID" }).pipe(Args.withDescription("The job's id, as submit printed it."))

/** An optional flag's value, else the environment variable's (blank counts as unset). */
const orEnv = (flag: Option.Option<string>, variable: string): string | undefined =>
  Option.getOrUndefined(flag) ?? (process.env[variable]?.trim() || undefined)

/** The client for the flags given; no server URL at all is a usage error, like a missing flag. */
const connect = (
  flags: { readonly server: Option.Option<string>; readonly token: Option.Option<string> }
): Effect.Effect<Client, ExitCode.UsageError> =>
  Effect.suspend(() => {
    const baseUrl = orEnv(flags.server, "SCRIPTORIUM_URL")
    if (baseUrl === undefined) {
      return Effect.fail(new ExitCode.UsageError({
        reason: "no server given: pass --server http://host:port or set SCRIPTORIUM_URL."
      }))
    }
    if (!/^https?:\/\/[^/]/i.test(baseUrl)) {
      return Effect.fail(new ExitCode.UsageError({
        reason: `--server must be an http(s) URL such as http://localhost:8000, but is '${baseUrl}'.`
      }))
    }
    return Effect.succeed(createClient({ baseUrl: baseUrl.replace(/\/+$/, ""), token: orEnv(flags.token, "SCRIPTORIUM_TOKEN") }))
  })

/** A client call as an Effect whose failure is the client's typed error, as it rejected. */
const call = <A>(f: () => Promise<A>): Effect.Effect<A, unknown> => Effect.tryPromise({ try: f, catch: (error) => error })

/** JSON for stdout: dates as ISO strings, two-space indented. */
const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** A job on one line: id, status, pages, file name, and the error of a failed job. */
const jobLine = (job: Job): string =>
  [
    job.job_id,
    job.status.padEnd(10),
    `${job.processed_pages}/${job.total_pages} pages`.padEnd(13),
    job.filename,
    job.error_message === null ? "" : `(${job.error_message})`
  ].join("  ").trimEnd()

/** Waits for the job with a progress bar on stderr; ends with the job as it finished (failed or cancelled too). */
const waitWithProgress = (client: Client, id: string, label: string) =>
  Effect.gen(function*() {
    const progress = Progress.make(process.stderr, [label])
    const outcome = yield* call(() =>
      client.waitForCompletion(id, {
        onProgress: (job) =>
          progress.update(label, {
            status: job.status,
            processed_pages: job.processed_pages,
            total_pages: job.total_pages,
            error: job.error_message
          })
      })
    ).pipe(Effect.either, Effect.ensuring(Effect.sync(progress.finish)))
    if (outcome._tag === "Right") return outcome.right
    const tag = (outcome.left as { _tag?: unknown })._tag
    // a job that ended badly is still reported with its final status; any other failure is the command's
    if (tag !== "JobFailed" && tag !== "JobCancelled") return yield* Effect.fail(outcome.left)
    return yield* call(() => client.status(id))
  })

const submit = Command.make(
  "submit",
  {
    ...connection,
    json,
    file: Args.file({ name: "FILE", exists: "yes" }).pipe(Args.withDescription("The PDF (or page image) to submit.")),
    wait: Options.boolean("wait").pipe(
      Options.withDescription("Wait for the job to end, with a progress bar on stderr; exit code 1 if it did not complete.")
    ),
    priority: wholeNumber("priority", -1_000_000, 1_000_000).pipe(
      Options.withDescription("Higher runs first; default 0."),
      Options.optional
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const client = yield* connect(flags)
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const filename = path.basename(flags.file)
      const content = yield* fs.readFile(flags.file)
      const submitted = yield* call(() =>
        client.submit({ filename, content }, { priority: Option.getOrUndefined(flags.priority) })
      )
      if (!flags.wait) return yield* flags.json ? printJson(submitted) : Console.log(submitted.job_id)
      // the id first, so a script has it even if the wait is interrupted
      if (!flags.json) yield* Console.log(submitted.job_id)
      const final = yield* waitWithProgress(client, submitted.job_id, filename)
      yield* flags.json ? printJson(final) : Console.log(final.status)
      if (final.status === "failed") {
        yield* Console.error(`scriptorium: job ${final.job_id} failed: ${final.error_message ?? "unknown error"}`)
      }
      if (final.status !== "completed") return yield* new ExitCode.JobsUnsuccessful({ failed: 1, total: 1 })
    })
).pipe(Command.withDescription(
  "Upload a file to a server and print the job's id (or, with --json, the job). With --wait, follow it to its end " +
    `and print its final status. ${ExitCode.helpText}`
))

const status = Command.make("status", { ...connection, json, id: jobId }, (flags) =>
  Effect.gen(function*() {
    const client = yield* connect(flags)
    const job = yield* call(() => client.get(flags.id))
    yield* flags.json ? printJson(job) : Console.log(jobLine(job))
  })).pipe(Command.withDescription(
    `Print a job's status: id, status, pages processed, file name, error. ${ExitCode.helpText}`
  ))

const statusFilter = Options.choice("status", JobStatusSchema.literals).pipe(
  Options.withDescription("Only the jobs with this status."),
  Options.optional
)

const list = Command.make(
  "list",
  {
    ...connection,
    json,
    status: statusFilter,
    limit: wholeNumber("limit", 1, 1000).pipe(Options.withDescription("At most this many jobs; default 100."), Options.optional),
    cursor: Options.text("cursor").pipe(
      Options.withDescription("Continue a previous listing (the cursor it printed on stderr)."),
      Options.optional
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const client = yield* connect(flags)
      const page = yield* call(() =>
        client.list({
          status: Option.getOrUndefined(flags.status) as JobStatus | undefined,
          limit: Option.getOrUndefined(flags.limit),
          cursor: Option.getOrUndefined(flags.cursor)
        })
      )
      if (flags.json) return yield* printJson(page)
      for (const job of page.jobs) yield* Console.log(jobLine(job))
      if (page.next_cursor !== null) yield* Console.error(`more jobs: list again with --cursor ${page.next_cursor}`)
    })
).pipe(Command.withDescription(
  `List jobs, newest first, one per line (or, with --json, the page as JSON). ${ExitCode.helpText}`
))

const cancel = Command.make("cancel", { ...connection, id: jobId }, (flags) =>
  Effect.gen(function*() {
    const client = yield* connect(flags)
    yield* call(() => client.cancel(flags.id))
    yield* Console.log(`${flags.id} cancelled`)
  })).pipe(Command.withDescription(
    "Cancel a pending or running job (its worker stops within a second). A job that already ended cannot be " +
      `cancelled: exit code 1. ${ExitCode.helpText}`
  ))

/** `submit`, `status`, `list` and `cancel`. */
export const commands = [submit, status, list, cancel] as const
