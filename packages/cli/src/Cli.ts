/**
 * The `scriptorium` command: its sub-commands (process, serve, worker, and submit, status, list, cancel against a
 * server), its help, and `run`, which turns a command line into an exit code (see ExitCode.ts). Kept apart from
 * main.ts so that it can be run in-process, with any arguments.
 */
import { Command, ValidationError } from "@effect/cli"
import type { CliApp } from "@effect/cli"
import { Cause, Console, Effect } from "effect"
import { readFileSync } from "node:fs"
import * as ExitCode from "./ExitCode.js"
import * as ProcessCommand from "./ProcessCommand.js"
import * as RemoteCommands from "./RemoteCommands.js"
import * as ServeCommand from "./ServeCommand.js"
import * as WorkerCommand from "./WorkerCommand.js"

/** This package's version, from its package.json (one folder above both src/ and dist/). */
const version: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version

/** `scriptorium` alone names no command: a usage error that lists them. */
const root = Command.make("scriptorium", {}, () =>
  new ExitCode.UsageError({
    reason: "name a command: process, serve, worker, submit, status, list or cancel (scriptorium --help lists them)."
  })).pipe(
    Command.withDescription(
      `Durable PDF OCR jobs: process files locally, run a server or a worker, or submit to a server. ${ExitCode.helpText}`
    )
  )

/** The whole command tree. */
export const command = root.pipe(Command.withSubcommands([
  ProcessCommand.command,
  ServeCommand.command,
  WorkerCommand.command,
  ...RemoteCommands.commands
]))

const parse = Command.run(command, { name: "scriptorium", version })

/** A failure's sentence, on stderr; the flag parser's errors were already printed, with the usage, by the parser. */
const report = (error: unknown): Effect.Effect<void> =>
  ValidationError.isValidationError(error)
    ? Effect.void
    : Console.error(`scriptorium: ${error instanceof Error ? error.message : String(error)}`)

/**
 * Runs a command line (`process.argv`: node, script, arguments) to its end and returns its exit code. Failures are
 * printed as one sentence on stderr; nothing fails out of here but a defect.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number, never, CliApp.CliApp.Environment> =>
  parse(argv).pipe(
    Effect.as(ExitCode.Success),
    Effect.catchAll((error) => Effect.as(report(error), ExitCode.of(error))),
    Effect.catchAllDefect((defect) =>
      Effect.as(Console.error(`scriptorium: unexpected error: ${Cause.pretty(Cause.die(defect))}`), ExitCode.JobUnsuccessful)
    )
  )
