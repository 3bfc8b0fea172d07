/**
 * How a benchmark script ends: it runs its `main`, then always cleans up what it started (servers, processes, temp
 * folders) and exits, also on Ctrl-C and on a failure, with `<Name> benchmark failed: ...` on stderr.
 */

const log = (line: string) => process.stderr.write(`${line}\n`)

/** `<name> benchmark failed: <detail>` on stderr. */
const logFailure = (name: string, detail: string) => log(`${name} benchmark failed: ${detail}`)

/** Runs `main`, then `cleanUp`, and exits: 0 when it succeeds, 1 (with the error) when it fails, 130 on Ctrl-C. */
export const runMain = (name: string, main: () => Promise<void>, cleanUp: () => Promise<void>): void => {
  process.once("SIGINT", () => {
    log("Interrupted; cleaning up")
    void cleanUp().finally(() => process.exit(130))
  })

  main().then(
    async () => {
      await cleanUp()
      process.exit(0)
    },
    async (error: unknown) => {
      logFailure(name, error instanceof Error ? error.stack ?? error.message : String(error))
      await cleanUp()
      process.exit(1)
    }
  )
}

/** Ends the run at once from outside `main`'s own flow (e.g. a child process died): logs, cleans up, exits 1. */
export const failNow = (name: string, message: string, cleanUp: () => Promise<void>): void => {
  logFailure(name, message)
  void cleanUp().finally(() => process.exit(1))
}

/** Writes a line of the benchmark's output (stdout; progress goes to stderr). */
export const say = (line = ""): void => {
  process.stdout.write(`${line}\n`)
}
