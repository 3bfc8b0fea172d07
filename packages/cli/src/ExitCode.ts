/**
 * The exit codes of `scriptorium`, which scripts can rely on, and the mapping from every failure the commands can
 * meet to one of them. One table, so the help text, the commands and the tests agree.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | a job failed or was cancelled (`process`, `submit --wait`), or the command could not do its work |
 * | 2 | usage error: a bad flag or value, a missing file, an unusable environment variable, a port already in use |
 * | 3 | the server is unreachable, refused the token, or is not a Scriptorium server |
 * | 4 | no job has this id |
 * | 130 | SIGINT or SIGTERM stopped the work before it finished (`process`, `submit --wait`) |
 *
 * `serve` and `worker` exit with 0 on SIGINT or SIGTERM: a signal is their normal way to stop.
 */
import { ValidationError } from "@effect/cli"
import { Effect, Schema } from "effect"

/** Everything went as asked. */
export const Success = 0
/** A job failed or was cancelled, or the command could not do its work. */
export const JobUnsuccessful = 1
/** A bad flag or value, a missing file. */
export const Usage = 2
/** The server is unreachable or refused the token. */
export const Unreachable = 3
/** No job has the id given. */
export const UnknownJob = 4

/** A signal stopped the work before it finished (128 + SIGINT's number, as shells report it). */
export const Interrupted = 130

/** The table above, as it appears in `--help`. */
export const helpText = "Exit codes: 0 success; 1 a job failed or was cancelled; 2 usage error (bad flag, missing " +
  "file); 3 server unreachable or unauthorized; 4 unknown job id; 130 interrupted."

let onSignal = Interrupted

/** Declares the running command a service that a signal stops normally: it then exits with 0 on SIGINT/SIGTERM. */
export const stopsOnSignal: Effect.Effect<void> = Effect.sync(() => {
  onSignal = Success
})

/** The exit code of a command a signal interrupted: 0 for a service (see `stopsOnSignal`), else 130. */
export const interrupted = (): number => onSignal

/** A command line the command cannot act on, beyond what the flag parser checks (e.g. a setting out of range). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

/** Some of the jobs a command ran did not complete; each was reported as it ended. */
export class JobsUnsuccessful extends Schema.TaggedError<JobsUnsuccessful>()("JobsUnsuccessful", {
  failed: Schema.Number,
  total: Schema.Number
}) {
  override get message() {
    return `${this.failed} of ${this.total} file(s) did not complete; their errors are printed above.`
  }
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/** The exit code for a failure; anything not named here is a 1. */
export const of = (error: unknown): number => {
  if (ValidationError.isValidationError(error)) return Usage
  switch (tagOf(error)) {
    case "UsageError":
    case "InvalidParameter":
    case "InvalidStatusFilter":
    case "InvalidCursor":
      return Usage
    case "Unauthorized":
    case "ServerUnreachable":
    case "ClientError":
      return Unreachable
    case "JobNotFound":
      return UnknownJob
    default:
      return JobUnsuccessful
  }
}
