/**
 * The flags several commands share, checked where they are parsed (so a bad value is a usage error, exit code 2,
 * that names the flag), and the server configuration built from the environment with the flags laid over it: the
 * flags and the variables of the standalone server's Config.ts mean the same thing, and Config.ts stays the one
 * place that reads them.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import type { ServerConfig } from "@scriptorium/example-server"
import { Effect, Either, Option } from "effect"
import { UsageError } from "../ExitCode.js"
import * as Engine from "./Engine.js"

/** A whole number flag between `min` and `max`, refused at parse time otherwise. */
export const wholeNumber = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): Options.Options<number> =>
  Options.integer(name).pipe(
    Options.mapEffect((n) =>
      n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--${name} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}, but is ${n}.`
        )))
    )
  )

/** `--data-dir`: the folder of the jobs database (`jobs.db`) and files (`blobs/`). */
export const dataDir = Options.directory("data-dir").pipe(
  Options.withDescription("Where the SQLite database (jobs.db) and the files (blobs/) live; default: $SCRIPTORIUM_DATA_DIR or ./data."),
  Options.optional
)

/** `--concurrency`: jobs processed at once. */
export const concurrency = wholeNumber("concurrency", 1).pipe(
  Options.withDescription("Jobs processed at once; default: $WORKER_CONCURRENCY or 1."),
  Options.optional
)

/** `--ocr-threads`: OCR engines, each in a worker thread. */
export const ocrThreads = wholeNumber("ocr-threads", 1).pipe(
  Options.withDescription("OCR engines, each in a worker thread reading one page at a time (about 0.5-0.8 GB each); default: $OCR_THREADS or 1."),
  Options.optional
)

/** An optional flag's value as the environment variable's text, or undefined to keep the environment's. */
export const asVariable = <A extends string | number>(value: Option.Option<A>): string | undefined =>
  Option.match(value, { onNone: () => undefined, onSome: String })

/**
 * The server configuration from the process environment, each defined override replacing its variable; an unusable
 * variable is a usage error with Config's sentence, which names it.
 */
export const serverConfig = (
  overrides: Readonly<Record<string, string | undefined>>
): Effect.Effect<ServerConfig, UsageError> =>
  Effect.flatMap(Engine.load, ({ server }) => {
    const defined = Object.entries(overrides).filter(([, value]) => value !== undefined)
    return Either.match(server.Config.fromEnv({ ...process.env, ...Object.fromEntries(defined) }), {
      onLeft: (invalid) => Effect.fail(new UsageError({ reason: invalid.message })),
      onRight: Effect.succeed
    })
  })
