/**
 * `scriptorium process FILE... -o DIR`: processes files on this machine with no server. The jobs live in a SQLite
 * database and a blobs folder in a temporary folder, removed at exit; the engine is the standalone server's
 * (`coreLayer`), so a file processed here gives the same results as one uploaded to a server. Every file is submitted
 * at once and the Worker takes `--concurrency` of them at a time; each completed job's outputs (markdown.md,
 * markdown_det.md, document.json, layout.pdf, images/...) are written to DIR/<file name without .pdf>/, and that
 * folder's path printed on stdout. A file that is refused or fails prints its error and the others go on; the exit
 * code is then 1.
 */
import { Args, Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import type { Job } from "@scriptorium/api"
import type { Scriptorium } from "@scriptorium/core"
import { Effect, Stream } from "effect"
import * as ExitCode from "./ExitCode.js"
import * as Engine from "./internal/Engine.js"
import { asVariable, concurrency, ocrThreads, serverConfig } from "./internal/Flags.js"
import * as Progress from "./internal/Progress.js"

const files = Args.file({ name: "FILE", exists: "yes" }).pipe(
  Args.withDescription("A PDF or a page image (PNG, JPEG, TIFF, WebP) to process."),
  Args.atLeast(1)
)

const output = Options.directory("output").pipe(
  Options.withAlias("o"),
  Options.withDescription("The folder to write each file's results to, in a sub-folder named after the file.")
)

/** One file of the command line: where it is, how it is shown, and the folder its results go to. */
interface Input {
  readonly file: string
  readonly label: string
  readonly folder: string
}

/**
 * Names each file by its base name, and its output folder by the base name without `.pdf`; two files with the same
 * name (from two folders) are shown by their path and get folders `name`, `name-2`..., so no result overwrites another.
 */
const inputs = (path: Path.Path, outputDir: string, files: ReadonlyArray<string>): ReadonlyArray<Input> => {
  const bases = files.map((file) => path.basename(file))
  const taken = new Set<string>()
  return files.map((file, i) => {
    const base = bases[i]!
    const stem = base.replace(/\.pdf$/i, "") || base
    let folder = stem
    for (let n = 2; taken.has(folder); n++) folder = `${stem}-${n}`
    taken.add(folder)
    const unique = bases.indexOf(base) === bases.lastIndexOf(base)
    return { file, label: unique ? base : file, folder: path.join(outputDir, folder) }
  })
}

const stateOf = (job: Job): Progress.FileState => ({
  status: job.status,
  processed_pages: job.processed_pages,
  total_pages: job.total_pages,
  error: job.error_message
})

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** Writes every result file of a completed job under `folder`, streaming each one. */
const writeOutputs = (facade: Scriptorium.Scriptorium, job: Job, folder: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const name of yield* facade.outputs(job.job_id)) {
      const target = path.join(folder, name)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true })
      yield* Stream.run(facade.result(job.job_id, name), fs.sink(target))
    }
  })

/** Submits one file, follows its job to the end, writes its results; true when it completed. Never fails. */
const processOne = (facade: Scriptorium.Scriptorium, input: Input, progress: Progress.Progress) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const content = yield* fs.readFile(input.file)
    const submitted = yield* Effect.either(facade.submit<never>({ filename: path.basename(input.file), content }))
    if (submitted._tag === "Left") {
      progress.update(input.label, { status: "refused", processed_pages: 0, total_pages: 0, error: submitted.left.message })
      return false
    }
    let last = submitted.right
    yield* Stream.runForEach(facade.watch(last.job_id), (job) =>
      Effect.sync(() => {
        last = job
        // "completed" is shown once the results are on disk
        if (job.status !== "completed") progress.update(input.label, stateOf(job))
      }))
    if (last.status !== "completed") return false
    yield* writeOutputs(facade, last, input.folder)
    progress.update(input.label, stateOf(last))
    progress.print(process.stdout, input.folder)
    return true
  }).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        progress.update(input.label, { status: "failed", processed_pages: 0, total_pages: 0, error: messageOf(error) })
        return false
      })
    )
  )

/** The `process` command. */
export const command = Command.make(
  "process",
  { files, output, concurrency, ocrThreads },
  ({ files, output, concurrency, ocrThreads }) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const outputDir = path.resolve(output)
      const dataDir = yield* fs.makeTempDirectoryScoped({ prefix: "scriptorium-process-" })
      const config = yield* serverConfig({
        SCRIPTORIUM_DATA_DIR: dataDir,
        // always a local store: this command runs no server and shares no queue
        DATABASE_URL: "",
        WORKER_CONCURRENCY: asVariable(concurrency),
        OCR_THREADS: asVariable(ocrThreads)
      })
      if (config.workerConcurrency === 0) {
        return yield* new ExitCode.UsageError({
          reason: "WORKER_CONCURRENCY is 0, so no file would be processed; unset it or pass --concurrency 1 or more."
        })
      }
      const all = inputs(path, outputDir, files)
      const progress = Progress.make(process.stderr, all.map((input) => input.label))
      const { core, server } = yield* Engine.load
      const completed = yield* Effect.flatMap(
        core.Scriptorium.Scriptorium,
        (facade) => Effect.forEach(all, (input) => processOne(facade, input, progress), { concurrency: "unbounded" })
      ).pipe(
        Effect.provide(server.coreLayer(config)),
        Effect.ensuring(Effect.sync(progress.finish))
      )
      const failed = completed.filter((ok) => !ok).length
      if (failed > 0) return yield* new ExitCode.JobsUnsuccessful({ failed, total: all.length })
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Process PDFs (or page images) on this machine, with no server, and write each one's results " +
      "(markdown.md, markdown_det.md, document.json, layout.pdf, images/) to DIR/<name>/. Progress goes to " +
      "stderr; the folders written go to stdout. Exit code 1 when a file failed (the others are still processed)." +
      ` ${ExitCode.helpText}`
  )
)
