#!/usr/bin/env node
/**
 * The `scriptorium` executable: runs the command line with Node's file system and terminal, and exits with the code
 * the command chose (ExitCode.ts). SIGTERM and SIGINT interrupt the command, which stops gracefully (a server or
 * worker hands its jobs back and exits with 0; `process` removes its temporary folder and exits with 130).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { run } from "./Cli.js"
import * as ExitCode from "./ExitCode.js"

run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit)
          ? (typeof exit.value === "number" ? exit.value : 0)
          : Cause.isInterruptedOnly(exit.cause)
          ? ExitCode.interrupted()
          : ExitCode.JobUnsuccessful
      )
  })
)
