/**
 * The text-layer pipeline's throughput: pages per second for born-digital PDFs through the real pipeline, and the
 * memory it takes. Every PDF of the corpus's `pdfs-digital` folder (11 papers, 73 pages) is submitted through the
 * Scriptorium facade, and a Worker runs core's DocumentHandler on it (PdfEngine: pdf.js in worker threads, then
 * TextLayout and the three result files), on SQLite and local storage in a temp folder, as in
 * `packages/core/test/DocumentHandler.test.ts` (without the admission check, which the HTTP benchmark covers).
 *
 * Each Worker concurrency (1 and 2) runs in a child process of its own (this script, forked with `--child`), so
 * its peak RSS (`process.resourceUsage().maxRSS`: the main thread and the pdf.js threads, which live in the same
 * process) is its own. In a child: one cold pass (a fresh process: pdf.js not yet loaded nor optimised), reported
 * apart, then R warm passes. A pass submits the 11 files one after the other and waits until every job has
 * completed: pages/s = 73 / (first submit to last completion). Per document: the time its handler ran (read the
 * upload, open it, every page's text layer, blocks and checkpoint, the result files), median of the warm passes.
 *
 * Run: `npm run bench:textlayer` (20 s on 2 cores when they are idle; `--quick`: one warm pass, 12 s), or after
 * `npx tsc -b`:
 *   node benchmarks/dist/textlayer.js [--quick] [--repeats R] [--concurrency 1,2] [--corpus DIR] [--profile DIR]
 * `--profile DIR` runs the children under `node --cpu-prof` and prints where the time went (main thread and pdf.js
 * threads).
 */
import {
  type BlobStore,
  collectBytes,
  DocumentHandler,
  type JobHandler,
  OcrEngine,
  PdfEngine,
  Scriptorium,
  Worker
} from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as CpuProfile from "./internal/CpuProfile.js"
import { runMain } from "./internal/Main.js"
import { fmt, machineLine, median, nowMs, positive, withRange } from "./internal/Stats.js"

// ---------------------------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string" },
    concurrency: { type: "string" },
    corpus: { type: "string" },
    profile: { type: "string" },
    child: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})

if (flags.help) {
  process.stdout.write(
    "node benchmarks/dist/textlayer.js [--quick] [--repeats R] [--concurrency 1,2] [--corpus DIR] [--profile DIR]\n" +
      "  --corpus: a folder of born-digital PDFs (default ../shared/corpus/pdfs-digital)\n"
  )
  process.exit(0)
}

const quick = flags.quick
const defaultCorpus = fileURLToPath(new URL("../../../shared/corpus/pdfs-digital/", import.meta.url))
const options = {
  repeats: Math.floor(positive("--repeats", flags.repeats, quick ? 1 : 3)),
  concurrencies: (flags.concurrency ?? "1,2").split(",").map((s) => Math.floor(positive("--concurrency", s.trim(), 1))),
  corpus: resolve(flags.corpus ?? defaultCorpus),
  profileDir: flags.profile === undefined ? undefined : resolve(flags.profile)
}

const log = (line: string) => process.stderr.write(`${line}\n`)

/** A pass may take at most this long (a bound on every loop; 73 pages take seconds). */
const PASS_LIMIT_MS = 300_000

// ---------------------------------------------------------------------------------------------------------------
// What a child measures

interface DocumentTiming {
  readonly name: string
  readonly pages: number
  /** Pages whose text came from the text layer (the rest had none usable). */
  readonly textPages: number
  readonly handlerMs: number
}

interface Pass {
  /** First submit to last completion. */
  readonly wallMs: number
  readonly pages: number
  /** CPU time of the whole process (all threads) over the pass, divided by its wall time: 1 = one core. */
  readonly cpu: number
  /** Highest RSS sampled (every 20 ms) during the pass, MB. */
  readonly peakRssMb: number
  readonly documents: ReadonlyArray<DocumentTiming>
}

interface ChildResult {
  readonly concurrency: number
  readonly cold: Pass
  readonly warm: ReadonlyArray<Pass>
  /** process.resourceUsage().maxRSS at the end, MB. */
  readonly maxRssMb: number
}

type FromChild =
  | { readonly type: "result"; readonly result: ChildResult }
  | { readonly type: "error"; readonly message: string }

const cpuSecondsOfProcess = () => {
  const u = process.resourceUsage()
  return (u.userCPUTime + u.systemCPUTime) / 1e6
}

/** The child: one Worker concurrency, a cold pass and R warm ones. */
const runChild = async (concurrency: number): Promise<ChildResult> => {
  const names = readdirSync(options.corpus).filter((n) => n.toLowerCase().endsWith(".pdf")).sort()
  if (names.length === 0) throw new Error(`No PDF in ${options.corpus}`)
  const files = names.map((name) => ({ name, content: new Uint8Array(readFileSync(join(options.corpus, name))) }))

  const handlerTimes = new Map<string, number>()
  const timed: JobHandler<BlobStore | PdfEngine.PdfEngine | OcrEngine.OcrEngine> = (context) =>
    Effect.suspend(() => {
      const started = nowMs()
      return DocumentHandler.handler(context).pipe(
        Effect.ensuring(Effect.sync(() => void handlerTimes.set(context.job.job_id, nowMs() - started)))
      )
    })

  const dir = mkdtempSync(join(tmpdir(), "scriptorium-bench-textlayer-"))
  const storage = Layer.merge(
    SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dir, "blobs") })
  )
  const stack = Layer.merge(Scriptorium.layer, Worker.layer(timed, { concurrency })).pipe(
    Layer.provideMerge(Layer.mergeAll(storage, PdfEngine.layer(), OcrEngine.layer())),
    Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Warning))
  )
  const runtime = ManagedRuntime.make(stack)
  try {
    const s = await runtime.runPromise(Scriptorium.Scriptorium)

    const pass = async (): Promise<Pass> => {
      let peakRss = process.memoryUsage.rss()
      const sampler = setInterval(() => void (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20)
      const [t0, cpu0] = [nowMs(), cpuSecondsOfProcess()]
      try {
        const jobs: Array<{ readonly name: string; readonly id: string }> = []
        for (const f of files) {
          const job = await runtime.runPromise(s.submit({ filename: f.name, content: f.content }))
          jobs.push({ name: f.name, id: job.job_id })
        }
        const done = await runtime.runPromise(
          Effect.forEach(jobs, (j) => s.wait(j.id, { timeoutMs: PASS_LIMIT_MS }), { concurrency: "unbounded" })
        )
        const wallMs = nowMs() - t0
        const cpu = (cpuSecondsOfProcess() - cpu0) / (wallMs / 1_000)
        const documents: Array<DocumentTiming> = []
        for (const [i, job] of done.entries()) {
          if (job.status !== "completed" || job.processed_pages !== job.total_pages) {
            throw new Error(`${jobs[i]!.name} ended ${job.status} (${job.processed_pages}/${job.total_pages} pages` +
              `${job.error_message !== null ? `: ${job.error_message}` : ""})`)
          }
          documents.push({
            name: jobs[i]!.name,
            pages: job.total_pages ?? 0,
            textPages: await textPages(runtime, s, job.job_id),
            handlerMs: handlerTimes.get(job.job_id) ?? Number.NaN
          })
        }
        const pages = documents.reduce((n, d) => n + d.pages, 0)
        return { wallMs, pages, cpu, peakRssMb: peakRss / 2 ** 20, documents }
      } finally {
        clearInterval(sampler)
      }
    }

    log(`  Worker concurrency ${concurrency}: cold pass...`)
    const cold = await pass()
    log(`  Worker concurrency ${concurrency}: cold ${fmt(cold.pages / (cold.wallMs / 1_000))} pages/s`)
    const warm: Array<Pass> = []
    for (let r = 1; r <= options.repeats; r++) {
      const p = await pass()
      warm.push(p)
      log(
        `  Worker concurrency ${concurrency}: warm pass ${r}/${options.repeats}: ${p.pages} pages in ` +
          `${p.wallMs.toFixed(0)} ms, ${fmt(p.pages / (p.wallMs / 1_000))} pages/s, CPU ${(p.cpu * 100).toFixed(0)}%, ` +
          `peak RSS ${p.peakRssMb.toFixed(0)} MB`
      )
    }
    return { concurrency, cold, warm, maxRssMb: process.resourceUsage().maxRSS / 1024 }
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** How many pages of a finished job got their text from the text layer (from its document.json; not timed). */
const textPages = async (
  runtime: ManagedRuntime.ManagedRuntime<Scriptorium.Scriptorium, unknown>,
  s: Scriptorium.Scriptorium,
  jobId: string
): Promise<number> => {
  const bytes = await runtime.runPromise(collectBytes(s.result(jobId, DocumentHandler.outputs.document)))
  const document = JSON.parse(new TextDecoder().decode(bytes)) as { pages: Array<{ source: string }> }
  return document.pages.filter((p) => p.source === "text").length
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: a child per concurrency, then the tables

/** The children running now (killed on Ctrl-C or a failure). */
const children = new Set<ChildProcess>()

const forkChild = (concurrency: number, profileDir: string | undefined): Promise<ChildResult> =>
  new Promise((done, fail) => {
    const args = [
      "--child",
      "--concurrency",
      String(concurrency),
      "--repeats",
      String(options.repeats),
      "--corpus",
      options.corpus
    ]
    const execArgv = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
    const proc = fork(fileURLToPath(import.meta.url), args, {
      execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    children.add(proc)
    let result: ChildResult | undefined
    const limit = setTimeout(() => proc.kill("SIGKILL"), PASS_LIMIT_MS * (options.repeats + 2))
    proc.on("message", (message: FromChild) => {
      if (message.type === "result") result = message.result
      else fail(new Error(`The concurrency-${concurrency} run failed: ${message.message}`))
    })
    proc.once("exit", (code, signal) => {
      children.delete(proc)
      clearTimeout(limit)
      if (result !== undefined) done(result)
      else fail(new Error(`The concurrency-${concurrency} run exited (${signal ?? code}) without a result`))
    })
  })

const pagesPerS = (p: Pass) => p.pages / (p.wallMs / 1_000)

const report = (results: ReadonlyArray<ChildResult>, elapsedS: number, loadAtStart: number): string => {
  const first = results[0]!
  const totalPages = first.cold.pages
  const documents = first.cold.documents
  const lines: Array<string> = []
  lines.push(`## Text layer: born-digital pages through the pipeline (${new Date().toISOString().slice(0, 10)})`)
  lines.push("")
  lines.push(
    `${machineLine(loadAtStart)} Whole run ${elapsedS.toFixed(0)} s. Corpus: ${documents.length} PDFs, ` +
      `${totalPages} pages (${basename(options.corpus)}). Facade + Worker (DocumentHandler, PdfEngine defaults: ` +
      `up to ${Math.max(2, availableParallelism())} pdf.js threads, 2 kept warm) on SQLite and local files in a ` +
      "temp folder; " +
      `each Worker concurrency in a fresh process. Warm: median (min–max) of ${options.repeats} ` +
      `pass${options.repeats === 1 ? "" : "es"} after the cold one. Target: ≥ 20 pages/s.`
  )
  lines.push("")
  lines.push(
    "| Worker concurrency | cold pass pages/s | warm pages/s | warm pass ms | process CPU | peak RSS (sampled) | maxRSS |"
  )
  lines.push("|--:|--:|--:|--:|--:|--:|--:|")
  for (const r of results) {
    lines.push(
      `| ${r.concurrency} | ${fmt(pagesPerS(r.cold))} | ${withRange(r.warm.map(pagesPerS))} | ` +
        `${median(r.warm.map((p) => p.wallMs)).toFixed(0)} | ${(median(r.warm.map((p) => p.cpu)) * 100).toFixed(0)}% | ` +
        `${Math.max(r.cold.peakRssMb, ...r.warm.map((p) => p.peakRssMb)).toFixed(0)} MB | ${r.maxRssMb.toFixed(0)} MB |`
    )
  }
  lines.push("")
  lines.push("Per document (warm passes, median handler time: read the upload, every page's text layer and blocks, " +
    "checkpoints, the three result files; with concurrency 2 two documents share the CPU):")
  lines.push("")
  lines.push(
    `| document | pages | text pages | ${results.map((r) => `ms (${r.concurrency}) | pages/s (${r.concurrency})`).join(" | ")} |`
  )
  lines.push(`|---|--:|--:|${results.map(() => "--:|--:").join("|")}|`)
  const docMs = (r: ChildResult, i: number) => median(r.warm.map((p) => p.documents[i]!.handlerMs))
  for (const [i, d] of documents.entries()) {
    const cells = results.map((r) => {
      const t = docMs(r, i)
      return `${t.toFixed(0)} | ${fmt(d.pages / (t / 1_000))}`
    })
    lines.push(`| ${d.name} | ${d.pages} | ${d.textPages} | ${cells.join(" | ")} |`)
  }
  const totals = results.map((r) => {
    const sum = documents.reduce((n, _d, i) => n + docMs(r, i), 0)
    return `${sum.toFixed(0)} | ${fmt(totalPages / (sum / 1_000))}`
  })
  lines.push(
    `| **all (sum of handler times)** | ${totalPages} | ${documents.reduce((n, d) => n + d.textPages, 0)} | ` +
      `${totals.join(" | ")} |`
  )
  const walls = results.map((r) => {
    const wall = median(r.warm.map((p) => p.wallMs))
    return `${wall.toFixed(0)} | ${fmt(totalPages / (wall / 1_000))}`
  })
  lines.push(`| **all (wall: first submit to last completion)** | ${totalPages} | | ${walls.join(" | ")} |`)
  lines.push("")
  return lines.join("\n")
}

const main = async () => {
  if (!existsSync(options.corpus)) {
    log(`${options.corpus} is missing: pass --corpus with a folder of born-digital PDFs`)
    process.exit(2)
  }
  const started = nowMs()
  const loadAtStart = loadavg()[0]!
  const results: Array<ChildResult> = []
  for (const c of options.concurrencies) {
    log(`Worker concurrency ${c} (a fresh process)`)
    let profileDir: string | undefined
    if (options.profileDir !== undefined) {
      profileDir = join(options.profileDir, `concurrency-${c}`)
      rmSync(profileDir, { recursive: true, force: true })
      mkdirSync(profileDir, { recursive: true })
    }
    results.push(await forkChild(c, profileDir))
  }
  const elapsedS = (nowMs() - started) / 1_000
  log(`Done in ${elapsedS.toFixed(0)} s`)
  let out = report(results, elapsedS, loadAtStart)
  if (options.profileDir !== undefined) {
    const lines = ["", "### Where the time went (node --cpu-prof, whole child process: cold and warm passes)", ""]
    for (const c of options.concurrencies) {
      // the two busiest threads: the main thread and a pdf.js thread
      const summaries = CpuProfile.summarizeFolder(join(options.profileDir, `concurrency-${c}`)).slice(0, 2)
      for (const [i, summary] of summaries.entries()) {
        const label = `Worker concurrency ${c}, thread ${i + 1} (${basename(summary.file)})`
        lines.push(...CpuProfile.describe(summary, label))
      }
    }
    out += lines.join("\n")
  }
  process.stdout.write(out)
}

const cleanUp = async () => {
  for (const proc of children) proc.kill()
}

if (flags.child) {
  const send = (message: FromChild) => process.send?.(message)
  runChild(options.concurrencies[0] ?? 1).then(
    (result) => {
      send({ type: "result", result })
      process.disconnect?.()
    },
    (error: unknown) => {
      send({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) })
      process.exitCode = 1
      process.disconnect?.()
    }
  )
} else {
  runMain("Text-layer", main, cleanUp)
}
