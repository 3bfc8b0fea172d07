/**
 * @scriptorium/cli: the `scriptorium` command (bin: dist/main.js). Exported for embedding the command tree in another
 * program or running it in-process: `Cli.run(argv)` gives the exit code.
 */
export * as Cli from "./Cli.js"
export * as ExitCode from "./ExitCode.js"
