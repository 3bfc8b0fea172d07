/**
 * `scriptorium serve`: the standalone server (the example server's `layer`: the HTTP API over the store, the blob
 * folder and a Worker), configured by the same environment variables as `examples/server` (see its Config.ts), with
 * `--port`, `--host` and `--data-dir` overriding PORT, HOST and SCRIPTORIUM_DATA_DIR. SIGTERM or SIGINT stops it
 * gracefully (running jobs get SHUTDOWN_GRACE_SECONDS, then go back to the queue) and it exits with 0.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Layer } from "effect"
import * as ExitCode from "./ExitCode.js"
import * as Engine from "./internal/Engine.js"
import { asVariable, dataDir, serverConfig, wholeNumber } from "./internal/Flags.js"

const port = wholeNumber("port", 0, 65535).pipe(
  Options.withDescription("TCP port to listen on (0: any free port); default: $PORT or 8000."),
  Options.optional
)

const host = Options.text("host").pipe(
  Options.withDescription("Address to listen on; default: $HOST or 0.0.0.0."),
  Options.optional
)

/** A port that cannot be listened on is the user's to fix: a usage error that says how. */
const listenError = (host: string, port: number) => (error: { readonly cause?: unknown }) => {
  const cause = error.cause instanceof Error ? error.cause.message : String(error.cause)
  return new ExitCode.UsageError({
    reason: `cannot listen on ${host}:${port} (${cause}); free the port or pass another --port.`
  })
}

/** The `serve` command. */
export const command = Command.make("serve", { port, host, dataDir }, ({ port, host, dataDir }) =>
  Effect.gen(function*() {
    yield* ExitCode.stopsOnSignal
    const config = yield* serverConfig({
      PORT: asVariable(port),
      HOST: asVariable(host),
      SCRIPTORIUM_DATA_DIR: asVariable(dataDir)
    })
    const { server } = yield* Engine.load
    return yield* Layer.launch(server.layer(config)).pipe(
      Effect.catchTag("ServeError", listenError(config.host, config.port))
    )
  })).pipe(
    Command.withDescription(
      "Run the standalone server: the HTTP API and a worker, on SQLite in the data folder (or PostgreSQL with " +
        "DATABASE_URL). Configured by the variables of examples/server (PORT, HOST, SCRIPTORIUM_DATA_DIR, " +
        "DATABASE_URL, AUTH_TOKEN, MAX_UPLOAD_MB, WORKER_CONCURRENCY, OCR_THREADS, JOB_TIMEOUT_SECONDS, " +
        "LEASE_SECONDS, SHUTDOWN_GRACE_SECONDS); the flags override them. SIGTERM or Ctrl-C stops it gracefully." +
      ` ${ExitCode.helpText}`
    )
  )
