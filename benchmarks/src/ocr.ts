/**
 * The OCR engine against tesseract.js, in one run, on the same pages and the same 2 cores: accuracy (CER and word
 * accuracy), pages per second with both cores busy, single-page latency and peak RSS; plus the born-digital path
 * (the text layer) on the same PDF pages.
 *
 * Pages (prepared once by the parent into a temp folder, see `internal/OcrPages.ts`, so every engine gets the very
 * same pixels):
 * - sroie: the 20 receipts of `../shared/corpus/sroie-dev`, decoded as an image job decodes them (RGB); ground truth
 *   their `.txt` (the annotated lines, top to bottom).
 * - pdf: 20 pages of `../shared/corpus/pdfs-digital`, round-robin over the files in name order (page 1 of each file,
 *   then page 2 of each file that has one, ...; pages PageRouting would not read from their text layer skipped),
 *   rendered once by PdfEngine at 150 DPI as DocumentHandler renders a page for OCR. Their ground truth is the
 *   page's own text layer (PdfEngine's `page`): its upright text items in TextLayout's reading order (XY-cut, so
 *   column by column), line by line. The pages are listed in the output.
 *
 * Scores (`internal/OcrMetrics.ts`, the normalisation and edit distance of core's OcrEngine test): CER = edit
 * distance ÷ reference characters, summed over a set, after NFKC, lower case and whitespace runs as one space; word
 * accuracy = reference words found among the engine's words (as multisets, so independent of reading order) ÷
 * reference words. CER is given on each engine's own text (ours: `recognize().text`, rows top to bottom; tesseract:
 * its text, in its own layout order) and, for the PDF pages, also on each engine's lines put in TextLayout's reading
 * order, the order of the ground truth and of the pipeline's output (DocumentHandler lays out OCR lines the same way).
 *
 * Engines, each in a child process of its own (this script forked with `--child`), so its peak RSS
 * (`process.resourceUsage().maxRSS`, threads included) is its own:
 * - tesseract.js 7 (wasm), offline: `langPath` in node_modules' `@tesseract.js-data/eng` (`4.0.0_best_int`, the
 *   traineddata tesseract.js itself fetches for its default LSTM engine), `cacheMethod: "none"`, a scheduler of 2
 *   workers (worker threads; one wasm instance each, single-threaded), asked for text and blocks (lines with boxes,
 *   as ours returns). Page segmentation AUTO (PSM 3, tesseract's own default): tesseract.js's default, SINGLE_BLOCK,
 *   reads a two-column page across both columns (measured on these pages: CER 44% instead of 8%; receipts the same
 *   either way). `user_defined_dpi` is 150 for the PDF pages (the receipts' is unknown: tesseract estimates it).
 *   It reads a PPM of the page's pixels (parsing it is in its time).
 * - Scriptorium's OcrEngine (PP-OCRv4 on onnxruntime-node), in process: `maxConcurrentPages 2, intraOpNumThreads 1`
 *   and `maxConcurrentPages 2, intraOpNumThreads 1, lineThreads 2` (a page's lines read on 2 threads, two pages in
 *   flight: the standalone server's setting); also (throughput only) 2 worker threads each with an
 *   OcrEngine of its own (`1, 1`: `internal/OcrWorker.ts`), a layout core does not offer, to measure what inference
 *   off the main thread would give.
 * - The text layer (throughput only): the same PDF pages through PdfEngine (`page`, pdf.js threads, its defaults)
 *   and DocumentHandler's `pageResult` (routing and TextLayout), 2 documents at a time, and then every page of
 *   those documents the same way; one cold pass, then 3 warm, each. Storage and checkpoints are left out:
 *   `textlayer.ts` measures the whole pipeline.
 *
 * The OCR children are started first (startup: models loaded, workers started, timed apart) and then driven by the
 * parent one request at a time, interleaved, so that the load other people put on the machine falls on every engine
 * alike and only one engine works at any moment. Per set: a warm-up page each (not counted); the latency pass, page
 * by page (every engine reads page 1, then every engine page 2, ..., a different engine first each time): the time
 * of the recognize call alone, the page read from disk before it, and the CPU time the process used meanwhile (all
 * threads; it does not depend on the machine's load); the texts scored come from this pass; then the throughput
 * passes, engine after engine, R times (default 1): 2 callers, each reading its next page from disk and recognising
 * it, so 2 pages are in flight; pages/s = pages ÷ wall time from the first read to the last result.
 *
 * Run: `npm run bench:ocr` (9 minutes on 2 cores with little else running, 13 at a load average of 4-6; `--quick`:
 * 4 receipts and 4 PDF pages, 2 minutes), or after `npx tsc -b`:
 *   node benchmarks/dist/ocr.js [--quick] [--receipts N] [--pdf-pages N] [--repeats R] [--only LIST] [--dpi D]
 *                               [--sroie DIR] [--pdfs DIR] [--profile DIR] [--dump DIR]
 * `--only` takes a comma-separated list of tesseract, ours-2x1, ours-lines, ours-threads, textlayer (default all).
 * `--profile DIR` runs the children under `node --cpu-prof` and prints where each one's time went; `--dump DIR`
 * writes every page's ground truth and each engine's texts there.
 */
import { DocumentHandler, OcrEngine, PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Scope } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { loadavg, tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Worker as Thread } from "node:worker_threads"
import Tesseract from "tesseract.js"
import * as CpuProfile from "./internal/CpuProfile.js"
import { runMain } from "./internal/Main.js"
import { type BoxedLine, laidOut, markdownText, type PageScore, scorePage, total } from "./internal/OcrMetrics.js"
import { loadRaw, type PageSet, type PageSpec, preparePdfPages, prepareReceipts } from "./internal/OcrPages.js"
import type { FromOcrWorker, ToOcrWorker } from "./internal/OcrWorker.js"
import { fmt, machineLine, median, ms, nowMs, percentile, positive, withRange } from "./internal/Stats.js"

// ---------------------------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    receipts: { type: "string" },
    "pdf-pages": { type: "string" },
    repeats: { type: "string" },
    only: { type: "string" },
    dpi: { type: "string" },
    sroie: { type: "string" },
    pdfs: { type: "string" },
    profile: { type: "string" },
    dump: { type: "string" },
    child: { type: "boolean", default: false },
    engine: { type: "string" },
    manifest: { type: "string" },
    help: { type: "boolean", default: false }
  }
})

const usage =
  "node benchmarks/dist/ocr.js [--quick] [--receipts N] [--pdf-pages N] [--repeats R] [--only LIST] [--dpi D]\n" +
  "                            [--sroie DIR] [--pdfs DIR] [--profile DIR] [--dump DIR]\n" +
  "  --only: comma-separated, of tesseract, ours-2x1, ours-lines, ours-threads, textlayer (default: all)\n" +
  "  --repeats: throughput passes per set and engine (default 1; the median is reported)\n"

if (flags.help) {
  process.stdout.write(usage)
  process.exit(0)
}

const engineIds = ["tesseract", "ours-2x1", "ours-lines", "ours-threads", "textlayer"] as const
type EngineId = (typeof engineIds)[number]

const isEngineId = (s: string): s is EngineId => (engineIds as ReadonlyArray<string>).includes(s)

const quick = flags.quick
const corpus = (name: string) => fileURLToPath(new URL(`../../../shared/corpus/${name}/`, import.meta.url))
const options = {
  receipts: Math.floor(positive("--receipts", flags.receipts, quick ? 4 : 20)),
  pdfPages: Math.floor(positive("--pdf-pages", flags["pdf-pages"], quick ? 4 : 20)),
  repeats: Math.floor(positive("--repeats", flags.repeats, 1)),
  dpi: positive("--dpi", flags.dpi, PdfEngine.DEFAULT_DPI),
  only: (flags.only ?? engineIds.join(",")).split(",").map((s) => s.trim()).filter((s) => s !== ""),
  sroie: resolve(flags.sroie ?? corpus("sroie-dev")),
  pdfs: resolve(flags.pdfs ?? corpus("pdfs-digital")),
  profileDir: flags.profile === undefined ? undefined : resolve(flags.profile),
  dumpDir: flags.dump === undefined ? undefined : resolve(flags.dump)
}
for (const id of options.only) {
  if (!isEngineId(id)) {
    process.stderr.write(`--only: unknown engine ${JSON.stringify(id)}\n${usage}`)
    process.exit(2)
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)

/** A child may run at most this long. */
const CHILD_LIMIT_MS = 30 * 60_000

/** Pages in flight in a throughput pass: one per core. */
const CALLERS = 2

/** How each engine is set up. */
const engines: Record<EngineId, { readonly label: string; readonly configuration: string }> = {
  tesseract: { label: "tesseract.js 7.0.0", configuration: "scheduler, 2 workers; page segmentation auto (PSM 3)" },
  "ours-2x1": { label: "Scriptorium OcrEngine", configuration: "maxConcurrentPages 2, intraOpNumThreads 1" },
  "ours-lines": {
    label: "Scriptorium OcrEngine",
    configuration: "maxConcurrentPages 2, intraOpNumThreads 1, lineThreads 2"
  },
  "ours-threads": {
    label: "Scriptorium OcrEngine in 2 worker threads ¹",
    configuration: "an engine per thread: 1 page, intraOpNumThreads 1"
  },
  textlayer: { label: "text layer (no OCR)", configuration: "PdfEngine defaults, 2 documents at a time" }
}

const ourConfigs: Record<"ours-2x1" | "ours-lines", OcrEngine.OcrEngineConfig> = {
  "ours-2x1": { maxConcurrentPages: 2, intraOpNumThreads: 1 },
  "ours-lines": { maxConcurrentPages: 2, intraOpNumThreads: 1, lineThreads: 2 }
}

// ---------------------------------------------------------------------------------------------------------------
// What a child measures

/** What an engine read on a page. */
interface Output {
  readonly text: string
  readonly lines: ReadonlyArray<BoxedLine>
}

/** How long a recognize call took. */
interface Timing {
  readonly ms: number
  /**
   * CPU time of the whole process (all threads) during the call, one page at a time: what the page cost, whatever
   * else ran on the machine.
   */
  readonly cpuMs: number
}

/** One page of a latency pass. */
interface PageRecord extends Output, Timing {
  readonly set: PageSet
  readonly name: string
}

/** One throughput pass over a set. */
interface Throughput {
  readonly set: PageSet
  readonly pages: number
  readonly wallMs: number
  /** CPU time of the whole process over the pass ÷ its wall time: 1 = one core. */
  readonly cpu: number
  /** The machine's load average (1 min) at the end of the pass: how much else wanted the cores. */
  readonly load: number
}

interface ChildResult {
  readonly engine: EngineId
  readonly startupMs: number
  readonly latency: ReadonlyArray<PageRecord>
  readonly throughput: ReadonlyArray<Throughput>
  /** Text layer only: the cold pass, apart from `throughput` (the warm ones). */
  readonly cold?: Throughput | undefined
  /** Text layer only: every page of the chosen pages' documents, cold and warm. */
  readonly wholeDocuments?: { readonly cold: Throughput; readonly warm: ReadonlyArray<Throughput> } | undefined
  /** process.resourceUsage().maxRSS at the end, MB. */
  readonly maxRssMb: number
}

/** What the parent asks an OCR child, one request at a time. */
type ToChild =
  /** Set up for a set (tesseract: its DPI) and recognise its first page, not counted. */
  | { readonly type: "warm"; readonly set: PageSet }
  /** Recognise page `index` of the set, alone: a page of the latency pass. */
  | { readonly type: "page"; readonly set: PageSet; readonly index: number }
  /** A throughput pass over the set. */
  | { readonly type: "pass"; readonly set: PageSet }
  /** Close the engine and report the peak RSS. */
  | { readonly type: "end" }

/** What a child answers. */
type FromChild =
  | { readonly type: "ready"; readonly startupMs: number }
  | { readonly type: "warm" }
  | { readonly type: "page"; readonly record: PageRecord }
  | { readonly type: "pass"; readonly pass: Throughput }
  | { readonly type: "end"; readonly maxRssMb: number }
  /** The text-layer child's whole run. */
  | { readonly type: "result"; readonly result: ChildResult }
  | { readonly type: "error"; readonly message: string }

const cpuSecondsOfProcess = () => {
  const u = process.resourceUsage()
  return (u.userCPUTime + u.systemCPUTime) / 1e6
}

/** An engine as the child drives it. */
interface Runner {
  /**
   * Reads the page from disk (not timed), then recognises it on `caller`'s behalf. `ms`: the recognition alone;
   * `cpuMs`: the CPU time of the whole process (all threads) meanwhile (NaN where it cannot be told apart).
   */
  readonly recognize: (spec: PageSpec, caller: number) => Promise<Output & Timing>
  /** Called before each set's pages. */
  readonly beginSet: (set: PageSet, specs: ReadonlyArray<PageSpec>) => Promise<void>
  readonly close: () => Promise<void>
}

/** Our engine in this process. */
const inProcess = async (config: OcrEngine.OcrEngineConfig): Promise<Runner> => {
  const scope = await Effect.runPromise(Scope.make())
  const engine = await Effect.runPromise(Scope.extend(OcrEngine.make(config), scope))
  return {
    recognize: async (spec) => {
      const image = loadRaw(spec)
      const [t0, cpu0] = [nowMs(), cpuSecondsOfProcess()]
      const page = await Effect.runPromise(engine.recognize(image))
      return {
        ms: nowMs() - t0,
        cpuMs: (cpuSecondsOfProcess() - cpu0) * 1_000,
        text: page.text,
        lines: page.lines.map((l) => ({ text: l.text, box: l.box, polygon: l.polygon }))
      }
    },
    beginSet: async () => {},
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Our engine in `count` worker threads, an engine each; caller i uses thread i. */
const inThreads = async (count: number, config: OcrEngine.OcrEngineConfig): Promise<Runner> => {
  const script = new URL("./internal/OcrWorker.js", import.meta.url)
  const pending = new Map<number, (reply: FromOcrWorker) => void>()
  let nextId = 0
  const threads = await Promise.all(Array.from({ length: count }, () =>
    new Promise<Thread>((ready, fail) => {
      const thread = new Thread(script, { workerData: config })
      thread.on("message", (reply: FromOcrWorker) => {
        if (reply.type === "ready") ready(thread)
        else pending.get(reply.id)?.(reply)
      })
      thread.once("error", fail)
    })))
  return {
    recognize: (spec, caller) =>
      new Promise((done, fail) => {
        const id = nextId++
        pending.set(id, (reply) => {
          pending.delete(id)
          if (reply.type === "done") done({ ms: reply.ms, cpuMs: Number.NaN, text: reply.text, lines: reply.lines })
          else fail(new Error(reply.type === "failed" ? reply.message : `unexpected ${reply.type}`))
        })
        threads[caller % count]!.postMessage({ type: "recognize", id, spec } satisfies ToOcrWorker)
      }),
    beginSet: async () => {},
    close: async () => {
      await Promise.all(threads.map((t) => t.terminate()))
    }
  }
}

/** Where @tesseract.js-data/eng keeps the traineddata tesseract.js downloads for its default (LSTM-only) engine. */
const tesseractLangPath = () =>
  join(dirname(createRequire(import.meta.url).resolve("@tesseract.js-data/eng/package.json")), "4.0.0_best_int")

/** tesseract.js: a scheduler of `count` workers. */
const tesseract = async (count: number): Promise<Runner> => {
  const langPath = tesseractLangPath()
  const scheduler = Tesseract.createScheduler()
  const workers = await Promise.all(
    Array.from({ length: count }, () =>
      Tesseract.createWorker("eng", Tesseract.OEM.LSTM_ONLY, { langPath, cacheMethod: "none", gzip: true }))
  )
  for (const w of workers) scheduler.addWorker(w)
  return {
    recognize: async (spec) => {
      const image = readFileSync(spec.ppmPath)
      const [t0, cpu0] = [nowMs(), cpuSecondsOfProcess()]
      const result = await scheduler.addJob("recognize", image, {}, { text: true, blocks: true })
      const [ms, cpuMs] = [nowMs() - t0, (cpuSecondsOfProcess() - cpu0) * 1_000]
      const lines: Array<BoxedLine> = []
      for (const block of result.data.blocks ?? []) {
        for (const paragraph of block.paragraphs) {
          for (const line of paragraph.lines) {
            lines.push({ text: line.text.trim(), box: [line.bbox.x0, line.bbox.y0, line.bbox.x1, line.bbox.y1] })
          }
        }
      }
      return { ms, cpuMs, text: result.data.text, lines }
    },
    beginSet: async (_set, specs) => {
      // the rendered pages' resolution is known; a receipt's is not (tesseract then assumes 70 DPI)
      const dpi = specs[0]?.dpi
      await Promise.all(workers.map((w) =>
        w.setParameters({
          // tesseract.js's default is SINGLE_BLOCK, which reads a two-column page across both columns
          tessedit_pageseg_mode: Tesseract.PSM.AUTO,
          user_defined_dpi: dpi === undefined ? "0" : String(dpi)
        })
      ))
    },
    close: () => scheduler.terminate()
  }
}

/** Recognises `specs` with CALLERS callers taking the next page as they finish; returns the pass's figures. */
const throughputPass = async (runner: Runner, set: PageSet, specs: ReadonlyArray<PageSpec>): Promise<Throughput> => {
  let next = 0
  const [t0, cpu0] = [nowMs(), cpuSecondsOfProcess()]
  await Promise.all(Array.from({ length: CALLERS }, async (_, caller) => {
    while (next < specs.length) await runner.recognize(specs[next++]!, caller)
  }))
  const wallMs = nowMs() - t0
  const cpu = (cpuSecondsOfProcess() - cpu0) / (wallMs / 1_000)
  return { set, pages: specs.length, wallMs, cpu, load: loadavg()[0]! }
}

/**
 * An OCR child: starts its engine, says how long that took, then does what the parent asks, one request at a time
 * (the parent interleaves the engines, so that a change in the machine's load falls on all of them alike).
 */
const serveOcrChild = async (
  engine: EngineId,
  specs: ReadonlyArray<PageSpec>,
  send: (message: FromChild) => void
): Promise<void> => {
  const t0 = nowMs()
  const runner = engine === "tesseract"
    ? await tesseract(CALLERS)
    : engine === "ours-threads"
    ? await inThreads(CALLERS, { maxConcurrentPages: 1, intraOpNumThreads: 1 })
    : await inProcess(ourConfigs[engine as "ours-2x1" | "ours-lines"])
  send({ type: "ready", startupMs: nowMs() - t0 })
  const of = (set: PageSet) => specs.filter((s) => s.set === set)
  const handle = async (message: ToChild): Promise<FromChild> => {
    switch (message.type) {
      case "warm": {
        await runner.beginSet(message.set, of(message.set))
        await runner.recognize(of(message.set)[0]!, 0)
        return { type: "warm" }
      }
      case "page": {
        const spec = of(message.set)[message.index]!
        const out = await runner.recognize(spec, 0)
        return { type: "page", record: { set: spec.set, name: spec.name, ...out } }
      }
      case "pass":
        return { type: "pass", pass: await throughputPass(runner, message.set, of(message.set)) }
      case "end":
        await runner.close()
        return { type: "end", maxRssMb: process.resourceUsage().maxRSS / 1024 }
    }
  }
  let queue = Promise.resolve()
  process.on("message", (message: ToChild) => {
    queue = queue.then(() => handle(message)).then(
      (reply) => {
        send(reply)
        if (reply.type === "end") process.disconnect?.()
      },
      (error: unknown) => failChild(send, error)
    )
  })
}

/** Tells the parent why the child failed, and ends it. */
const failChild = (send: (message: FromChild) => void, error: unknown) => {
  send({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) })
  process.exitCode = 1
  process.disconnect?.()
}

/** The text-layer child: the PDF pages' text layers through PdfEngine and routing/layout; a cold pass, 3 warm. */
const runTextLayerChild = async (specs: ReadonlyArray<PageSpec>): Promise<ChildResult> => {
  const pages = specs.filter((s) => s.set === "pdf" && s.file !== undefined)
  const files = [...new Set(pages.map((s) => s.file!))].map((file) => ({
    file,
    pages: pages.filter((s) => s.file === file).map((s) => s.page!)
  }))
  const t0 = nowMs()
  const runtime = ManagedRuntime.make(Layer.merge(PdfEngine.layer(), Logger.minimumLogLevel(LogLevel.Warning)))
  try {
    const engine = await runtime.runPromise(PdfEngine.PdfEngine)
    const startupMs = nowMs() - t0
    /** The chosen pages (`whole`: every page of their documents), 2 documents at a time. */
    const pass = async (whole: boolean): Promise<Throughput> => {
      const [start, cpu0] = [nowMs(), cpuSecondsOfProcess()]
      const routed = await runtime.runPromise(Effect.forEach(files, ({ file, pages }) =>
        Effect.scoped(Effect.gen(function*() {
          const pdf = yield* engine.open(new Uint8Array(readFileSync(file)), { filename: basename(file) })
          const chosen = whole ? Array.from({ length: pdf.pageCount }, (_, i) => i) : pages
          return yield* Effect.forEach(chosen, (page) =>
            Effect.map(pdf.page(page), (text) => DocumentHandler.pageResult(text).source))
        })), { concurrency: 2 }))
      const wallMs = nowMs() - start
      if (!whole && routed.flat().some((source) => source !== "text")) {
        throw new Error("A chosen page was not read from its text layer")
      }
      return {
        set: "pdf",
        pages: routed.flat().length,
        wallMs,
        cpu: (cpuSecondsOfProcess() - cpu0) / (wallMs / 1_000),
        load: loadavg()[0]!
      }
    }
    const passes = async (whole: boolean) => {
      const what = whole ? "whole documents" : "chosen pages"
      const cold = await pass(whole)
      log(`  textlayer (${what}): cold pass ${cold.pages} pages in ${cold.wallMs.toFixed(0)} ms`)
      const warm: Array<Throughput> = []
      for (let r = 1; r <= (quick ? 1 : 3); r++) {
        const p = await pass(whole)
        warm.push(p)
        log(`  textlayer (${what}): warm pass ${r}: ${p.pages} pages in ${p.wallMs.toFixed(0)} ms`)
      }
      return { cold, warm }
    }
    const { cold, warm } = await passes(false)
    const wholeDocuments = await passes(true)
    return {
      engine: "textlayer",
      startupMs,
      latency: [],
      throughput: warm,
      cold,
      wholeDocuments,
      maxRssMb: process.resourceUsage().maxRSS / 1024
    }
  } finally {
    await runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: the pages, a child per engine, then the tables

const children = new Set<ChildProcess>()

/** A child process, spoken to one request at a time. */
interface ChildHandle {
  /** Its first message: `ready` (an OCR child), or `result` (the text-layer child, which runs on its own). */
  readonly first: Promise<FromChild>
  /** Sends a request and waits for the answer. */
  readonly ask: (message: ToChild) => Promise<FromChild>
}

const startChild = (engine: EngineId, manifest: string, profileDir: string | undefined): ChildHandle => {
  const args = ["--child", "--engine", engine, "--manifest", manifest, "--repeats", String(options.repeats)]
  if (quick) args.push("--quick")
  const execArgv = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
  // the child's stdout goes to our stderr: tesseract's wasm prints warnings there, and stdout is the table's
  const proc = fork(fileURLToPath(import.meta.url), args, { execArgv, stdio: ["ignore", 2, 2, "ipc"] })
  children.add(proc)
  const limit = setTimeout(() => proc.kill("SIGKILL"), CHILD_LIMIT_MS)
  let waiting: { readonly done: (m: FromChild) => void; readonly fail: (e: Error) => void } | undefined
  const first = new Promise<FromChild>((done, fail) => void (waiting = { done, fail }))
  proc.on("message", (message: FromChild) => {
    const w = waiting
    waiting = undefined
    if (message.type === "error") w?.fail(new Error(`The ${engine} child failed: ${message.message}`))
    else w?.done(message)
  })
  proc.once("exit", (code, signal) => {
    children.delete(proc)
    clearTimeout(limit)
    waiting?.fail(new Error(`The ${engine} child exited (${signal ?? code}) before it answered`))
    waiting = undefined
  })
  return {
    first,
    ask: (message) =>
      new Promise((done, fail) => {
        waiting = { done, fail }
        proc.send(message)
      })
  }
}

/** The answer if it is of the type expected. */
const expectReply = <T extends FromChild["type"]>(reply: FromChild, type: T): Extract<FromChild, { type: T }> => {
  if (reply.type !== type) throw new Error(`A child answered '${reply.type}' where '${type}' was expected`)
  return reply as Extract<FromChild, { type: T }>
}

/** The array turned left by `k`: each engine goes first in turn. */
const rotate = <A>(items: ReadonlyArray<A>, k: number): Array<A> =>
  items.length === 0 ? [] : [...items.slice(k % items.length), ...items.slice(0, k % items.length)]

/**
 * The OCR engines, each in a child of its own, all started first (one after the other), then interleaved: per set,
 * a warm-up page each, then page by page (every engine reads page 1, then every engine page 2, ..., the first
 * engine changing each time), then the throughput passes, engine after engine. Only one child works at a time.
 */
const runOcrEngines = async (
  ids: ReadonlyArray<EngineId>,
  specs: ReadonlyArray<PageSpec>,
  manifest: string
): Promise<Array<ChildResult>> => {
  const handles: Array<{ readonly engine: EngineId; readonly child: ChildHandle; readonly startupMs: number }> = []
  for (const engine of ids) {
    log(`${engine} (${engines[engine].configuration}): starting a fresh process`)
    const child = startChild(engine, manifest, profileDirOf(engine))
    const { startupMs } = expectReply(await child.first, "ready")
    log(`  started in ${startupMs.toFixed(0)} ms`)
    handles.push({ engine, child, startupMs })
  }
  const latency = new Map<EngineId, Array<PageRecord>>(ids.map((id) => [id, []]))
  const throughput = new Map<EngineId, Array<Throughput>>(ids.map((id) => [id, []]))
  // the worker-thread layout's latency would be the in-process engine's (the same engine, one page at a time)
  const timed = handles.filter((h) => h.engine !== "ours-threads")
  for (const set of ["sroie", "pdf"] as const) {
    const mine = specs.filter((s) => s.set === set)
    if (mine.length === 0) continue
    log(`${set}: warming up (one page each, not counted)`)
    for (const h of handles) expectReply(await h.child.ask({ type: "warm", set }), "warm")
    for (const [index, spec] of mine.entries()) {
      const cells: Array<string> = []
      for (const h of rotate(timed, index)) {
        const { record } = expectReply(await h.child.ask({ type: "page", set, index }), "page")
        latency.get(h.engine)!.push(record)
        cells.push(
          `${h.engine} ${record.ms.toFixed(0)} ms (CPU ${record.cpuMs.toFixed(0)}, ${record.lines.length} lines)`
        )
      }
      log(`  ${spec.name}: ${cells.join(", ")}`)
    }
    for (let r = 1; r <= options.repeats; r++) {
      for (const h of rotate(handles, r - 1)) {
        const { pass } = expectReply(await h.child.ask({ type: "pass", set }), "pass")
        throughput.get(h.engine)!.push(pass)
        log(
          `  ${set} throughput pass ${r}/${options.repeats}, ${h.engine}: ${pass.pages} pages in ` +
            `${pass.wallMs.toFixed(0)} ms, ${fmt(pagesPerS(pass))} pages/s, CPU ${(pass.cpu * 100).toFixed(0)}%, ` +
            `load average ${pass.load.toFixed(1)}`
        )
      }
    }
  }
  const results: Array<ChildResult> = []
  for (const h of handles) {
    const { maxRssMb } = expectReply(await h.child.ask({ type: "end" }), "end")
    results.push({
      engine: h.engine,
      startupMs: h.startupMs,
      latency: latency.get(h.engine)!,
      throughput: throughput.get(h.engine)!,
      maxRssMb
    })
  }
  return results
}

/** Where a child's CPU profiles go (a fresh folder), when profiling. */
const profileDirOf = (engine: EngineId): string | undefined => {
  if (options.profileDir === undefined) return undefined
  const dir = join(options.profileDir, engine)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

const pagesPerS = (t: Throughput) => t.pages / (t.wallMs / 1_000)
const cpuMsPerPage = (t: Throughput) => (t.cpu * t.wallMs) / t.pages
const ratio = (n: number) => (Number.isFinite(n) ? `${n >= 10 ? n.toFixed(0) : n.toFixed(2)}×` : "–")
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : "–")
const mark = (ok: boolean) => (ok ? "yes" : "**no**")

/** The prepared page a record is of, by set and name. */
const pageIndex = (specs: ReadonlyArray<PageSpec>) => {
  const byKey = new Map(specs.map((s) => [`${s.set}/${s.name}`, s]))
  return (p: { readonly set: PageSet; readonly name: string }) => byKey.get(`${p.set}/${p.name}`)!
}

/** The scores of one engine's latency pass, by set. */
const scores = (r: ChildResult, specs: ReadonlyArray<PageSpec>) => {
  const specOf = pageIndex(specs)
  const laidOutText = (p: PageRecord) => laidOut(p.lines, specOf(p))
  const markdownOf = (p: PageRecord) => markdownText(p.lines, specOf(p))
  const of = (set: PageSet, text: (p: PageRecord) => string, truth = (p: PageRecord) => specOf(p).truth) =>
    r.latency.filter((p) => p.set === set).map((p): PageScore => scorePage(text(p), truth(p)))
  // the markdown joins words hyphenated at a line's end, and so is scored against the truth's lines joined so
  const joinedTruth = (p: PageRecord) => TextLayout.joinLines(specOf(p).truth.split("\n"))
  return {
    sroie: total(of("sroie", (p) => p.text)),
    sroieLaidOut: total(of("sroie", laidOutText)),
    sroieMarkdown: total(of("sroie", markdownOf, joinedTruth)),
    pdf: total(of("pdf", (p) => p.text)),
    pdfLaidOut: total(of("pdf", laidOutText)),
    pdfMarkdown: total(of("pdf", markdownOf, joinedTruth)),
    perPage: new Map(r.latency.map((p) => [`${p.set}/${p.name}`, scorePage(p.text, specOf(p).truth)]))
  }
}

const report = (
  results: ReadonlyArray<ChildResult>,
  specs: ReadonlyArray<PageSpec>,
  elapsedS: number,
  loadAtStart: number
): string => {
  const lines: Array<string> = []
  const push = (...l: Array<string>) => lines.push(...l)
  const receipts = specs.filter((s) => s.set === "sroie")
  const pdfPages = specs.filter((s) => s.set === "pdf")
  const byId = new Map(results.map((r) => [r.engine, r]))
  const tess = byId.get("tesseract")
  const ocr = results.filter((r) => r.engine !== "textlayer")
  const withLatency = ocr.filter((r) => r.latency.length > 0)
  const scored = new Map(withLatency.map((r) => [r.engine, scores(r, specs)]))
  const rate = (r: ChildResult | undefined, set: PageSet) =>
    r === undefined ? Number.NaN : median(r.throughput.filter((t) => t.set === set).map(pagesPerS))
  const p50 = (r: ChildResult | undefined, set: PageSet) =>
    r === undefined ? Number.NaN : median(r.latency.filter((p) => p.set === set).map((p) => p.ms))
  const cpu = (r: ChildResult) => median(r.throughput.map((t) => t.cpu))
  const cpuPerPage = (r: ChildResult | undefined, set: PageSet) =>
    r === undefined ? Number.NaN : median(r.latency.filter((p) => p.set === set).map((p) => p.cpuMs))
  const sets = (["sroie", "pdf"] as const).filter((set) => specs.some((s) => s.set === set))

  push(`## OCR: Scriptorium's OcrEngine against tesseract.js (${new Date().toISOString().slice(0, 10)})`, "")
  push(
    `${machineLine(loadAtStart)} Whole run ${elapsedS.toFixed(0)} s. Pages: ${receipts.length} receipts of sroie-dev ` +
      `(decoded to RGB), ${pdfPages.length} pages of pdfs-digital rendered at ${options.dpi} DPI (RGBA; ground ` +
      "truth: the page's own text layer). Each engine in a child process of its own, the engines taking turns (one " +
      "works at a time, on both cores); latency: one page at a time, the recognize call alone; throughput: " +
      `${CALLERS} pages in flight, ${options.repeats} pass` +
      `${options.repeats === 1 ? "" : "es (median)"} per set.`,
    ""
  )
  if (pdfPages.length > 0) push(`PDF pages: ${pdfPages.map((s) => s.name).join(", ")}.`, "")

  push("### Accuracy", "")
  push(
    "CER: edit distance ÷ reference characters over the set, case-insensitive, whitespace-normalised (NFKC). " +
      "Word accuracy: reference words the engine also read (as multisets, order-independent). \"TextLayout order\": " +
      "the engine's lines put in TextLayout's reading order (as the PDF pages' ground truth is, and as the pipeline's " +
      "markdown reads them), instead of the engine's own text order (rows across the page). \"Markdown\": the " +
      "markdown the pipeline writes from the engine's lines (DocumentHandler's `ocrPageResult`: deskew, layout, " +
      "headings, tables, paragraphs), its heading marks, table pipes and escapes taken out, against the ground " +
      "truth's lines joined as the markdown joins them (hyphenation undone); it leaves out what it types as page " +
      "headers, footers and numbers, which the ground truth holds, and moves captions and paragraphs that go on in " +
      "the next column, so it is a measure of the pipeline, not a target.",
    ""
  )
  push(
    "| engine | configuration | sroie CER | sroie CER (TextLayout order) | sroie CER (markdown) | sroie word acc. | " +
      "pdf CER (own order) | pdf CER (TextLayout order) | pdf CER (markdown) | pdf word acc. |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
  )
  for (const r of withLatency) {
    const s = scored.get(r.engine)!
    push(
      `| ${engines[r.engine].label} | ${engines[r.engine].configuration} | ${pct(s.sroie.cer)} | ` +
        `${pct(s.sroieLaidOut.cer)} | ${pct(s.sroieMarkdown.cer)} | ${pct(s.sroie.wordAccuracy)} | ${pct(s.pdf.cer)} | ` +
        `${pct(s.pdfLaidOut.cer)} | ${pct(s.pdfMarkdown.cer)} | ${pct(s.pdf.wordAccuracy)} |`
    )
  }
  push("")

  push("### Speed and memory", "")
  push(
    "| engine | configuration | startup ms | sroie pages/s | pdf pages/s | sroie p50 ms | pdf p50 ms | " +
      "sroie CPU ms/page | pdf CPU ms/page | CPU (throughput) | peak RSS |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  )
  for (const r of results) {
    const rates = sets.map((set) => {
      const passes = r.throughput.filter((t) => t.set === set)
      return passes.length === 0 ? "–" : withRange(passes.map(pagesPerS))
    })
    const [sroieRate, pdfRate] = [rates[sets.indexOf("sroie")] ?? "–", rates[sets.indexOf("pdf")] ?? "–"]
    const coldNote = r.cold === undefined ? "" : ` (cold pass ${fmt(pagesPerS(r.cold))})`
    push(
      `| ${engines[r.engine].label} | ${engines[r.engine].configuration} | ${r.startupMs.toFixed(0)} | ${sroieRate} | ` +
        `${pdfRate}${coldNote} | ${ms(p50(r, "sroie"))} | ${ms(p50(r, "pdf"))} | ${ms(cpuPerPage(r, "sroie"))} | ` +
        `${ms(cpuPerPage(r, "pdf"))} | ${(cpu(r) * 100).toFixed(0)}% | ` +
        `${r.maxRssMb.toFixed(0)} MB |`
    )
  }
  push(
    "",
    "Startup: models loaded or workers started. Latency: median of the recognize calls, one page at a time. CPU " +
      "ms/page: median CPU time of the whole process during those calls (all its threads), which does not depend " +
      "on what else runs on the machine; on 2 cores, 2000 ÷ it is the pages/s an engine could reach if it used " +
      "both fully. CPU (throughput): the process's CPU over the throughput passes, 100% = one core.",
    ""
  )
  if (byId.has("ours-threads")) {
    push(
      "¹ Two `node:worker_threads` threads in the benchmark, each with its own OcrEngine " +
        "(`internal/OcrWorker.ts`), a page each: what core's OcrThreads (the server's OCR_THREADS=2) does. " +
        "Its latency is that of `maxConcurrentPages 2, intraOpNumThreads 1` (the same engine, one page at a time).",
      ""
    )
  }

  const passRows = ocr.flatMap((r) => r.throughput.map((t) => ({ r, t })))
  if (passRows.length > 0) {
    push(
      "Every throughput pass (within a set the engines took turns; the process's CPU, 100% = one core, and the " +
        "machine's load average at the end of the pass: other work on the 2 cores takes from every figure above):",
      "",
      "| set | engine | configuration | pages | wall s | pages/s | process CPU | load average |",
      "|---|---|---|--:|--:|--:|--:|--:|"
    )
    for (const set of sets) {
      for (const { r, t } of passRows.filter((p) => p.t.set === set)) {
        push(
          `| ${set} | ${r.engine} | ${engines[r.engine].configuration} | ${t.pages} | ${(t.wallMs / 1_000).toFixed(1)} | ` +
            `${fmt(pagesPerS(t))} | ${(t.cpu * 100).toFixed(0)}% | ${t.load.toFixed(1)} |`
        )
      }
    }
    push("")
  }

  if (tess !== undefined && ocr.length > 1) {
    push("### Against the targets (ratios to tesseract.js, same run)", "")
    push(
      "| target | set | Scriptorium configuration | Scriptorium | tesseract.js | ratio | met |",
      "|---|---|---|--:|--:|--:|---|"
    )
    const ours = ocr.filter((r) => r.engine !== "tesseract")
    const inCore = ours.filter((r) => r.engine !== "ours-threads")
    for (const set of sets) {
      const best = [...inCore].sort((a, b) => rate(b, set) - rate(a, set))[0]
      if (best !== undefined) {
        const q = rate(best, set) / rate(tess, set)
        push(
          `| throughput ≥ 1.5× | ${set} | ${engines[best.engine].configuration} (best in core) | ` +
            `${fmt(rate(best, set))} pages/s | ${fmt(rate(tess, set))} pages/s | ${ratio(q)} | ${mark(q >= 1.5)} |`
        )
      }
      const threads = byId.get("ours-threads")
      if (threads !== undefined) {
        const q = rate(threads, set) / rate(tess, set)
        push(
          `| throughput ≥ 1.5× | ${set} | 2 worker threads ¹ | ${fmt(rate(threads, set))} pages/s | ` +
            `${fmt(rate(tess, set))} pages/s | ${ratio(q)} | ${mark(q >= 1.5)} |`
        )
      }
    }
    for (const set of sets) {
      const best = inCore.filter((r) => r.latency.length > 0)
        .sort((a, b) => cpuPerPage(a, set) - cpuPerPage(b, set))[0]
      if (best === undefined) continue
      const q = cpuPerPage(tess, set) / cpuPerPage(best, set)
      push(
        `| (throughput by CPU ms/page ²) | ${set} | ${engines[best.engine].configuration} | ` +
          `${ms(cpuPerPage(best, set))} ms | ${ms(cpuPerPage(tess, set))} ms | ${ratio(q)} | ${mark(q >= 1.5)} |`
      )
    }
    for (const set of sets) {
      const best = [...ours.filter((r) => r.latency.length > 0)].sort((a, b) => p50(a, set) - p50(b, set))[0]
      if (best === undefined) continue
      const q = p50(best, set) / p50(tess, set)
      push(
        `| latency p50 ≤ 0.7× | ${set} | ${engines[best.engine].configuration} (best) | ${ms(p50(best, set))} ms | ` +
          `${ms(p50(tess, set))} ms | ${ratio(q)} | ${mark(q <= 0.7)} |`
      )
    }
    const ts = scored.get("tesseract")
    const os = scored.get("ours-2x1") ?? scored.get("ours-lines")
    if (ts !== undefined && os !== undefined) {
      const cfg = scored.has("ours-2x1") ? engines["ours-2x1"].configuration : engines["ours-lines"].configuration
      const cerRows: Array<[string, number, number]> = [
        ["sroie", os.sroie.cer, ts.sroie.cer],
        ["sroie (TextLayout order)", os.sroieLaidOut.cer, ts.sroieLaidOut.cer],
        ["pdf (own order)", os.pdf.cer, ts.pdf.cer],
        ["pdf (TextLayout order)", os.pdfLaidOut.cer, ts.pdfLaidOut.cer]
      ]
      for (const [set, o, t] of cerRows) {
        if (!Number.isFinite(o) || !Number.isFinite(t)) continue
        push(`| CER ≤ tesseract.js | ${set} | ${cfg} | ${pct(o)} | ${pct(t)} | ${ratio(o / t)} | ${mark(o <= t)} |`)
      }
    }
    for (const r of ours) {
      push(
        `| peak RSS < 1 GB | all | ${engines[r.engine].configuration}${r.engine === "ours-threads" ? " ¹" : ""} | ` +
          `${r.maxRssMb.toFixed(0)} MB | ${tess.maxRssMb.toFixed(0)} MB | ${ratio(r.maxRssMb / tess.maxRssMb)} | ` +
          `${mark(r.maxRssMb < 1024)} |`
      )
    }
    push(
      "",
      "² Not a target of its own: the throughput an engine would have if it kept both cores busy on pages of its " +
        "own, from CPU time per page (tesseract.js ÷ Scriptorium), which other load on the machine does not change.",
      ""
    )
  }
  const text = byId.get("textlayer")
  if (text !== undefined) {
    const r = rate(text, "pdf")
    const whole = text.wholeDocuments
    const wholeRate = whole === undefined ? Number.NaN : median(whole.warm.map(pagesPerS))
    const warmPasses = text.throughput.length === 1 ? "one warm pass" : `median of ${text.throughput.length} warm passes`
    const documents = new Set(pdfPages.map((s) => s.file)).size
    push(
      `Born-digital pages through the text layer (PdfEngine \`page\` and DocumentHandler's \`pageResult\`: routing ` +
        `and TextLayout; no OCR, no storage), 2 documents at a time, ${warmPasses} ` +
        `after a cold one: the ${pdfPages.length} chosen pages ${fmt(r)} pages/s (cold pass ` +
        `${fmt(text.cold === undefined ? Number.NaN : pagesPerS(text.cold))}; ${documents} ` +
        `documents opened for them); every page of those documents (${whole?.cold.pages ?? "–"} pages) ` +
        `${fmt(wholeRate)} pages/s (cold ${fmt(whole === undefined ? Number.NaN : pagesPerS(whole.cold))}); CPU ` +
        `time per page (process, all threads, warm) ${ms(median(text.throughput.map(cpuMsPerPage)))} ms and ` +
        `${ms(whole === undefined ? Number.NaN : median(whole.warm.map(cpuMsPerPage)))} ms. ` +
        `Target ≥ 20 pages/s: ${mark(wholeRate >= 20)} (whole documents), ${mark(r >= 20)} (chosen pages).`,
      ""
    )
  }

  if (withLatency.length > 0) {
    push("### Per page (latency pass: ms of the recognize call, CER on the engine's own text)", "")
    push(
      `| set | page | pixels | ${withLatency.map((r) => `${r.engine} ms | ${r.engine} CER`).join(" | ")} |`,
      `|---|---|--:|${withLatency.map(() => "--:|--:").join("|")}|`
    )
    for (const s of specs) {
      const cells = withLatency.map((r) => {
        const page = r.latency.find((p) => p.set === s.set && p.name === s.name)
        const score = scored.get(r.engine)!.perPage.get(`${s.set}/${s.name}`)
        const cer = score === undefined ? "–" : pct(score.errors / score.length)
        return `${page === undefined ? "–" : page.ms.toFixed(0)} | ${cer}`
      })
      push(`| ${s.set} | ${s.name} | ${s.width}×${s.height} | ${cells.join(" | ")} |`)
    }
    push("")
    const tail = withLatency.map((r) =>
      sets.map((set) => {
        const sorted = r.latency.filter((p) => p.set === set).map((p) => p.ms).sort((a, b) => a - b)
        const max = sorted[sorted.length - 1] ?? Number.NaN
        return `${r.engine} ${set}: p90 ${ms(percentile(sorted, 0.9))} ms, max ${ms(max)} ms`
      }).join("; ")
    )
    push(`Latency tails: ${tail.join("; ")}.`, "")
  }
  return lines.join("\n")
}

const main = async () => {
  for (const dir of [options.sroie, options.pdfs]) {
    if (!existsSync(dir)) {
      log(`${dir} is missing: pass --sroie and --pdfs with the corpus folders`)
      process.exit(2)
    }
  }
  const started = nowMs()
  const loadAtStart = loadavg()[0]!
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-bench-ocr-"))
  temp = dir
  log(`Preparing ${options.receipts} receipts and ${options.pdfPages} PDF pages (${options.dpi} DPI) in ${dir}`)
  const runtime = ManagedRuntime.make(Layer.merge(PdfEngine.layer(), Logger.minimumLogLevel(LogLevel.Warning)))
  let specs: Array<PageSpec>
  try {
    const receipts = await runtime.runPromise(prepareReceipts(options.sroie, options.receipts, dir))
    const pdf = await runtime.runPromise(preparePdfPages(options.pdfs, options.pdfPages, options.dpi, dir))
    specs = [...receipts, ...pdf]
  } finally {
    await runtime.dispose()
  }
  log(`PDF pages: ${specs.filter((s) => s.set === "pdf").map((s) => s.name).join(", ")}`)
  const manifest = join(dir, "pages.json")
  writeFileSync(manifest, JSON.stringify(specs))

  const selected = engineIds.filter((e) => options.only.includes(e))
  const results = await runOcrEngines(selected.filter((e) => e !== "textlayer"), specs, manifest)
  if (selected.includes("textlayer")) {
    log(`textlayer (${engines.textlayer.configuration}): a fresh process`)
    const child = startChild("textlayer", manifest, profileDirOf("textlayer"))
    results.push(expectReply(await child.first, "result").result)
  }
  const elapsedS = (nowMs() - started) / 1_000
  log(`Done in ${elapsedS.toFixed(0)} s`)
  if (options.dumpDir !== undefined) dump(options.dumpDir, specs, results)
  let out = report(results, specs, elapsedS, loadAtStart)
  if (options.profileDir !== undefined) {
    const lines = ["### Where the time went (node --cpu-prof, whole child process)", ""]
    for (const r of results) {
      // the busiest threads: the main thread, worker threads
      for (const [i, summary] of CpuProfile.summarizeFolder(join(options.profileDir, r.engine)).slice(0, 3).entries()) {
        lines.push(...CpuProfile.describe(summary, `${r.engine}, thread ${i + 1} (${basename(summary.file)})`))
      }
    }
    out += `\n${lines.join("\n")}`
  }
  process.stdout.write(`${out}\n`)
}

/** Every page's ground truth and each engine's text (own order, TextLayout order, markdown), as files, to look at. */
const dump = (dir: string, specs: ReadonlyArray<PageSpec>, results: ReadonlyArray<ChildResult>) => {
  const file = (set: PageSet, name: string) => `${set}-${name.replace(/[^\w.-]+/g, "_")}`
  mkdirSync(join(dir, "truth"), { recursive: true })
  for (const s of specs) writeFileSync(join(dir, "truth", `${file(s.set, s.name)}.txt`), s.truth)
  const specOf = pageIndex(specs)
  for (const r of results) {
    if (r.latency.length === 0) continue
    mkdirSync(join(dir, r.engine), { recursive: true })
    for (const p of r.latency) {
      writeFileSync(join(dir, r.engine, `${file(p.set, p.name)}.txt`), p.text)
      writeFileSync(join(dir, r.engine, `${file(p.set, p.name)}.laid-out.txt`), laidOut(p.lines, specOf(p)))
      writeFileSync(join(dir, r.engine, `${file(p.set, p.name)}.markdown.txt`), markdownText(p.lines, specOf(p)))
    }
  }
  log(`Texts written to ${dir}`)
}

let temp: string | undefined

const cleanUp = async () => {
  for (const proc of children) proc.kill()
  if (temp !== undefined) rmSync(temp, { recursive: true, force: true })
}

if (flags.child) {
  const send = (message: FromChild) => process.send?.(message)
  // an orphan (the parent died) must not keep running; nor may a stray handle keep a finished child alive
  process.on("disconnect", () => setTimeout(() => process.exit(), 10_000).unref())
  const engine = flags.engine ?? ""
  try {
    if (!isEngineId(engine)) throw new Error(`unknown engine ${JSON.stringify(engine)}`)
    const specs = JSON.parse(readFileSync(flags.manifest ?? "", "utf8")) as Array<PageSpec>
    const running = engine === "textlayer"
      ? runTextLayerChild(specs).then((result) => {
        send({ type: "result", result })
        process.disconnect?.()
      })
      : serveOcrChild(engine, specs, send)
    running.catch((error: unknown) => failChild(send, error))
  } catch (error) {
    failChild(send, error)
  }
} else {
  runMain("OCR", main, cleanUp)
}
