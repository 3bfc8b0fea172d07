/**
 * Runs the standalone server: `node examples/server/dist/main.js` (or `npm start` at the repository's root),
 * configured by environment variables (see Config.ts). SIGTERM or SIGINT stops it gracefully: the HTTP server stops
 * accepting, running jobs get SHUTDOWN_GRACE_SECONDS to finish and are then handed back to the queue (they resume
 * from their last finished page at the next start), and the database is closed.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Either, Layer } from "effect"
import { fromEnv } from "./Config.js"
import { layer } from "./index.js"

const config = fromEnv(process.env)
if (Either.isLeft(config)) {
  console.error(`Scriptorium cannot start: ${config.left.message}`)
  process.exit(1)
}

/** One sentence for a failure to start: a store that cannot be opened, a port that is taken. */
const describe = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "ServeError") {
    const cause = (error as { cause?: { message?: string } }).cause
    return `cannot listen on ${config.right.host}:${config.right.port} (${cause?.message ?? "unknown error"}); ` +
      `free the port or set PORT to another one.`
  }
  return error instanceof Error ? error.message : String(error)
}

Layer.launch(layer(config.right)).pipe(
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Effect.zipRight(
        Console.error(`Scriptorium cannot start: ${describe(Cause.squash(cause))}`),
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
  ),
  NodeRuntime.runMain
)
