/**
 * Exact rewrites of an ONNX graph that onnxruntime (1.30, graph optimisation "all") does not do itself, found in
 * PaddleOCR's PP-OCRv4 exports (paddle2onnx): their PP-LCNetV3 backbone wraps every activation in a learnable scalar
 * affine `y * s + b`, spells HardSwish out as four element-wise nodes and upsamples with ConvTranspose. Each
 * element-wise node left between two Convs costs a pass over the tensor, and also makes onnxruntime convert the
 * tensor out of its blocked NCHWc layout and back. The rewrites, in the order they run (the counts `fuseGraph`
 * returns are named after them):
 *
 * - `hardSwish`: `x * clip(x + 3, 0, 6) / 6` (or `* (1/6)`) becomes `x * HardSigmoid(x, 1/6, 1/2)`, which
 *   onnxruntime fuses into the Conv before it as its HardSwish activation; `hardSigmoid`: `clip(x + 3, 0, 6) / 6`
 *   alone becomes HardSigmoid. Both are opset 6, so the opset import is not changed.
 * - `convMul`, `convAdd`, `convBatchNorm`: a Conv or ConvTranspose followed by a Mul, Add or BatchNormalization by
 *   constants, one value or one per output channel, is folded into its weights and bias. (onnxruntime folds a Mul or
 *   Add into a Conv only for some constant shapes: none of PP-OCRv4's one-element `[1]` affines.)
 * - `convTranspose`, `depthToSpaceMoves`: a ConvTranspose whose kernel equals its stride becomes a 1x1 Conv and a
 *   DepthToSpace; per-element ops are moved before the DepthToSpace, a small 1x1 Conv after one is moved before it,
 *   and two DepthToSpace in a row merge. The DB head (ConvTranspose, Relu, ConvTranspose, Sigmoid) becomes two 1x1
 *   Convs with fused activations at a quarter of the resolution and one DepthToSpace.
 * - `residualGate`: `x + x * g` (a squeeze-excitation gate) becomes `x * (g + 1)`, `g + 1` on the small gate.
 * - `mulIntoNextConv`, `addIntoNextConv`: a Mul (and the Add after it) by per-input-channel constants whose every
 *   reader is a Conv is folded into those Convs' weights (and biases). The Add is folded only into Convs without
 *   padding (a padded border would see the constant where the original saw zero).
 * - `depthwiseAffine`: an affine left (before a padded Conv, or read by other ops) becomes a 1x1 depthwise Conv
 *   with weights `s` and bias `b`, the same arithmetic, so the tensor stays in onnxruntime's NCHWc layout. Only on
 *   x86-64, where that layout exists; elsewhere `x * s + b` before padded Convs is written `(x + b / s) * s` and
 *   `s` folded into the Convs.
 *
 * Every rewrite is exact mathematically; results differ from the original model's by float rounding only (weights
 * are folded in double precision and rounded once to float32). Unused Constant nodes are removed afterwards
 * (`removedConstants`). Everything else in the file is kept as it was (see onnxProto). Graphs with subgraphs (If,
 * Loop) or tensors stored outside the file are left alone.
 */
import {
  AttributeType,
  DataType,
  decodeModel,
  elementCount,
  encodeModel,
  floatTensor,
  floatValues,
  type Graph,
  type Model,
  type Node,
  type Tensor
} from "./onnxProto.js"

/** The rewritten model and how many times each rewrite was applied. */
export interface FusedGraph {
  readonly bytes: Uint8Array
  readonly rewrites: Record<string, number>
}

/** Which rewrites to do. */
export interface FuseOptions {
  /**
   * Turn per-channel affines left between Convs into 1x1 depthwise Convs when the channel count is a multiple of
   * this (default 16, onnxruntime's NCHWc block on AVX-512; 8 is the block on AVX2). 0 turns it off, which is also
   * the default off x86-64, where onnxruntime has no NCHWc layout and a plain Add is cheaper.
   */
  readonly depthwiseBlock?: number | undefined
  /** Rewrites not to do (for measuring each one's effect). */
  readonly skip?: ReadonlyArray<FusePass> | undefined
}

/** The rewrite passes, in the order they run. */
export type FusePass =
  | "hardSwish"
  | "convForward"
  | "depthToSpace"
  | "residualGate"
  | "affineIntoNextConv"
  | "depthwiseAffine"

/** Rewrites an ONNX model (see the module comment). A model with nothing to rewrite comes back byte for byte. */
export const fuseGraph = (modelBytes: Uint8Array, options: FuseOptions = {}): FusedGraph => {
  const model = decodeModel(modelBytes)
  const rewrites = fuseModel(model, options)
  return { bytes: encodeModel(model), rewrites }
}

/** Rewrites a decoded model in place; returns the rewrite counts. */
export const fuseModel = (model: Model, options: FuseOptions = {}): Record<string, number> => {
  const block = options.depthwiseBlock ?? (process.arch === "x64" ? 16 : 0)
  // a node with a subgraph (If, Loop, Scan) may read any outer value: such graphs are left alone
  const hasSubgraph = model.graph.node.some((n) =>
    n.attribute.some((a) =>
      a.type === AttributeType.GRAPH || a.type === AttributeType.GRAPHS ||
      a.other.some((o) => o.field === 6 || o.field === 11)
    )
  )
  // tensors stored outside the file (external data) are left alone: the model must be loaded from its path
  const external = (t: Tensor) => t.other.some((o) => o.field === 13)
  const hasExternal = model.graph.initializer.some(external) ||
    model.graph.node.some((n) => n.attribute.some((a) => a.t !== undefined && external(a.t)))
  if (hasSubgraph || hasExternal) return {}
  const opset = model.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 1
  const g = new GraphEditor(model.graph, opset)
  const rewrites: Record<string, number> = {
    hardSwish: 0,
    hardSigmoid: 0,
    convMul: 0,
    convAdd: 0,
    convBatchNorm: 0,
    mulIntoNextConv: 0,
    addIntoNextConv: 0
  }
  const skip = new Set(options.skip ?? [])
  if (!skip.has("hardSwish")) {
    const hard = g.hardSwish()
    rewrites.hardSwish = hard.hardSwish
    rewrites.hardSigmoid = hard.hardSigmoid
  }
  // forward folds first (they remove the pre-activation affine), then the post-activation affine into the next Conv
  while (!skip.has("convForward")) {
    const r = g.convForward()
    rewrites.convMul! += r.mul
    rewrites.convAdd! += r.add
    rewrites.convBatchNorm! += r.bn
    if (r.mul + r.add + r.bn === 0) break
  }
  if (!skip.has("depthToSpace")) {
    rewrites.convTranspose = g.convTransposeToDepthToSpace()
    rewrites.depthToSpaceMoves = 0
    for (;;) {
      const moved = g.unaryBeforeDepthToSpace() + g.convBeforeDepthToSpace(16) + g.mergeDepthToSpace()
      if (moved === 0) break
      rewrites.depthToSpaceMoves += moved
    }
  }
  rewrites.residualGate = skip.has("residualGate") ? 0 : g.residualGate()
  const depthwise = block > 0 && !skip.has("depthwiseAffine")
  if (!skip.has("affineIntoNextConv")) {
    const back = g.affineIntoNextConv(depthwise)
    rewrites.mulIntoNextConv = back.mul
    rewrites.addIntoNextConv = back.add
  }
  rewrites.depthwiseAffine = depthwise ? g.affineToDepthwise(block) : 0
  rewrites.removedConstants = g.removeDead()
  g.commit()
  return rewrites
}

// ---------------------------------------------------------------------------------------------------------------

const attr = (n: Node, name: string) => n.attribute.find((a) => a.name === name)
const attrInts = (n: Node, name: string): Array<number> | undefined => attr(n, name)?.ints?.map(Number)
const attrInt = (n: Node, name: string, dflt: number): number => {
  const a = attr(n, name)
  return a?.i !== undefined ? Number(a.i) : dflt
}
const attrFloat = (n: Node, name: string, dflt: number): number => attr(n, name)?.f ?? dflt
const attrString = (n: Node, name: string): string | undefined => {
  const s = attr(n, name)?.s
  return s === undefined ? undefined : new TextDecoder().decode(s)
}

/** Ops whose output has their first input's rank and channels. */
const SHAPE_KEEPING = [
  "HardSigmoid",
  "Relu",
  "Sigmoid",
  "LeakyRelu",
  "Tanh",
  "HardSwish",
  "Identity",
  "Clip",
  "BatchNormalization",
  "GlobalAveragePool"
]

/** A constant's values broadcast per channel: `values[c]` for channel c of `channels`, or undefined if it is not. */
const perChannel = (t: Tensor, channels: number, outRank: number): Float64Array | undefined => {
  if (t.dataType !== DataType.FLOAT) return undefined
  const dims = t.dims
  // a constant of higher rank than the output would make the result's rank larger
  if (dims.length > outRank) return undefined
  const values = floatValues(t)
  if (values.length !== elementCount(dims)) return undefined
  if (values.length === 1) return new Float64Array(channels).fill(values[0]!)
  // right-align with [N, C, spatial...]: every dim 1 except the channel dim, which is C
  const channelAxis = dims.length - (outRank - 1)
  if (channelAxis < 0) return undefined
  for (let i = 0; i < dims.length; i++) {
    if (i === channelAxis ? dims[i] !== channels : dims[i] !== 1) return undefined
  }
  return Float64Array.from(values)
}

class GraphEditor {
  private nodes: Array<Node | undefined>
  private readonly consts = new Map<string, Tensor>()
  private readonly newInitializers: Array<Tensor> = []
  private readonly graphOutputs: Set<string>
  private consumerMap: Map<string, Array<Node>> | undefined
  private producerMap: Map<string, Node> | undefined
  private readonly shapeMemo = new Map<string, { rank: number; channels: number } | null>()
  private uid = 0

  constructor(readonly graph: Graph, readonly opset: number) {
    this.nodes = [...graph.node]
    for (const t of graph.initializer) this.consts.set(t.name, t)
    for (const n of graph.node) {
      if (n.opType === "Constant" && n.domain === "" && n.output.length === 1) {
        const value = attr(n, "value")
        if (value?.t !== undefined) this.consts.set(n.output[0]!, value.t)
      }
    }
    this.graphOutputs = new Set(graph.output.map((v) => v.name))
    // a graph input with an initializer of the same name can be fed at run time: not a constant
    for (const v of graph.input) this.consts.delete(v.name)
  }

  private consumers(name: string): Array<Node> {
    if (this.consumerMap === undefined) {
      const m = new Map<string, Array<Node>>()
      for (const n of this.nodes) {
        if (n === undefined) continue
        for (const i of n.input) {
          if (i === "") continue
          let list = m.get(i)
          if (list === undefined) m.set(i, (list = []))
          if (!list.includes(n)) list.push(n)
        }
      }
      this.consumerMap = m
    }
    return this.consumerMap.get(name) ?? []
  }

  /** Forgets what was derived from the node list (readers, producers, shapes): call after every edit. */
  private invalidate() {
    this.consumerMap = undefined
    this.producerMap = undefined
    this.shapeMemo.clear()
  }

  /** The only consumer of `name`, if it has exactly one and is not a graph output. */
  private soleConsumer(name: string): Node | undefined {
    if (this.graphOutputs.has(name)) return undefined
    const c = this.consumers(name)
    if (c.length !== 1) return undefined
    // the consumer must read it once (x * x is not an affine)
    return c[0]!.input.filter((i) => i === name).length === 1 ? c[0] : undefined
  }

  private isOnnx(n: Node, opType: string) {
    return n.opType === opType && (n.domain === "" || n.domain === "ai.onnx")
  }

  private constOf(name: string): Tensor | undefined {
    return this.consts.get(name)
  }

  /** The value of a scalar float constant (any rank, one element). */
  private scalar(name: string): number | undefined {
    const t = this.constOf(name)
    if (t === undefined || t.dataType !== DataType.FLOAT || elementCount(t.dims) !== 1) return undefined
    const v = floatValues(t)
    return v.length === 1 ? v[0] : undefined
  }

  /** For a binary node with one constant input: the other input and the constant's name. */
  private split(n: Node): { x: string; c: string } | undefined {
    if (n.input.length !== 2) return undefined
    const [a, b] = n.input as [string, string]
    if (this.consts.has(b) && !this.consts.has(a)) return { x: a, c: b }
    if (this.consts.has(a) && !this.consts.has(b)) return { x: b, c: a }
    return undefined
  }

  /** Nodes removed or replaced: a pass iterating over a snapshot of the nodes skips them. */
  private readonly gone = new WeakSet<Node>()

  private remove(...ns: Array<Node>) {
    for (const n of ns) {
      const i = this.nodes.indexOf(n)
      if (i >= 0) this.nodes[i] = undefined
      this.gone.add(n)
    }
    this.invalidate()
  }

  /** The current nodes, for a pass to iterate over while it edits (it must skip the ones `gone` by then). */
  private snapshot(): Array<Node> {
    return this.nodes.filter((n): n is Node => n !== undefined)
  }

  private replace(old: Node, ...with_: Array<Node>) {
    const i = this.nodes.indexOf(old)
    if (i < 0) throw new Error("graphFusion: node not found")
    this.nodes.splice(i, 1, ...with_)
    this.gone.add(old)
    this.invalidate()
  }

  private addConst(base: string, dims: ReadonlyArray<number>, values: Float64Array): string {
    const name = `${base}__fused${this.uid++}`
    const t = floatTensor(name, dims, values)
    this.consts.set(name, t)
    this.newInitializers.push(t)
    return name
  }

  /** The name of `n` or a fresh one. */
  private nodeName(n: Node, suffix: string) {
    return `${n.name === "" ? n.output[0]! : n.name}__${suffix}${this.uid++}`
  }

  // -------------------------------------------------------------------------------------------------------------
  // x * clip(x + 3, 0, 6) / 6  ->  x * HardSigmoid(x, alpha = 1/6, beta = 1/2)

  /**
   * The value of a one-element float constant that cannot change the shape of `x` by broadcasting: rank 0, or of a
   * rank no larger than x's when x comes from a Conv.
   */
  private scalarFor(name: string, x: string): number | undefined {
    const t = this.constOf(name)
    if (t === undefined) return undefined
    if (t.dims.length > 0 && t.dims.length > (this.channelsOf(x)?.rank ?? 0)) return undefined
    return this.scalar(name)
  }

  /** The sole consumer of `v` if it is `v / 6` or `v * (1/6)`. */
  private sixth(v: string, x: string): Node | undefined {
    const n = this.soleConsumer(v)
    if (n === undefined || n.output.length !== 1) return undefined
    if (this.isOnnx(n, "Div") && n.input[0] === v && this.scalarFor(n.input[1]!, x) === 6) return n
    if (this.isOnnx(n, "Mul") && this.split(n)?.x === v && this.scalarFor(this.split(n)!.c, x) === Math.fround(1 / 6)) {
      return n
    }
    return undefined
  }

  /** The sole consumer of `v` if it is `x * v`. */
  private timesX(v: string, x: string): Node | undefined {
    const n = this.soleConsumer(v)
    if (n === undefined || !this.isOnnx(n, "Mul") || n.input.length !== 2 || n.output.length !== 1) return undefined
    return (n.input[0] === x && n.input[1] === v) || (n.input[1] === x && n.input[0] === v) ? n : undefined
  }

  hardSwish(): { hardSwish: number; hardSigmoid: number } {
    const r = { hardSwish: 0, hardSigmoid: 0 }
    for (const add of this.snapshot()) {
      if (this.gone.has(add) || !this.isOnnx(add, "Add") || add.output.length !== 1) continue
      const s = this.split(add)
      if (s === undefined) continue
      const x = s.x
      if (this.scalarFor(s.c, x) !== 3) continue
      const clip = this.soleConsumer(add.output[0]!)
      if (clip === undefined || !this.isOnnx(clip, "Clip") || clip.input[0] !== add.output[0]) continue
      let lo: number | undefined
      let hi: number | undefined
      if (this.opset < 11) {
        lo = attrFloat(clip, "min", Number.NaN)
        hi = attrFloat(clip, "max", Number.NaN)
      } else {
        lo = clip.input[1] ? this.scalarFor(clip.input[1], x) : undefined
        hi = clip.input[2] ? this.scalarFor(clip.input[2], x) : undefined
      }
      if (lo !== 0 || hi !== 6) continue
      const c = clip.output[0]!
      // x * clip(x + 3, 0, 6) / 6, or x * (clip(x + 3, 0, 6) / 6), or clip(x + 3, 0, 6) / 6 alone
      let removed: Array<Node>
      let last: Node
      let swish: boolean
      const xc = this.timesX(c, x)
      const xcs = xc && this.sixth(xc.output[0]!, x)
      if (xc !== undefined && xcs !== undefined) {
        removed = [add, clip, xc]
        last = xcs
        swish = true
      } else {
        const cs = this.sixth(c, x)
        if (cs === undefined) continue
        const xcs2 = this.timesX(cs.output[0]!, x)
        removed = xcs2 === undefined ? [add, clip] : [add, clip, cs]
        last = xcs2 ?? cs
        swish = xcs2 !== undefined
      }
      const out = last.output[0]!
      const hs = swish ? `${out}__hardsigmoid` : out
      const nodes: Array<Node> = [{
        input: [x],
        output: [hs],
        name: this.nodeName(last, "HardSigmoid"),
        opType: "HardSigmoid",
        domain: "",
        attribute: [
          { name: "alpha", type: AttributeType.FLOAT, f: 1 / 6, other: [] },
          { name: "beta", type: AttributeType.FLOAT, f: 0.5, other: [] }
        ],
        other: []
      }]
      if (swish) {
        nodes.push({
          input: [x, hs],
          output: [out],
          name: this.nodeName(last, "Mul"),
          opType: "Mul",
          domain: "",
          attribute: [],
          other: []
        })
      }
      this.replace(last, ...nodes)
      this.remove(...removed)
      this.invalidate()
      if (swish) r.hardSwish++
      else r.hardSigmoid++
    }
    return r
  }

  // -------------------------------------------------------------------------------------------------------------
  // Conv / ConvTranspose followed by Mul, Add or BatchNormalization by per-output-channel constants

  /** A convolution with constant weights (and bias): its kind, output channels and rank. */
  private convInfo(n: Node) {
    const isConv = this.isOnnx(n, "Conv")
    const isT = this.isOnnx(n, "ConvTranspose")
    if (!isConv && !isT) return undefined
    const w = this.constOf(n.input[1]!)
    if (w === undefined || w.dataType !== DataType.FLOAT || w.dims.length < 3) return undefined
    const b = n.input[2] ? this.constOf(n.input[2]) : undefined
    if (n.input[2] && b === undefined) return undefined
    const group = attrInt(n, "group", 1)
    const outChannels = isConv ? w.dims[0]! : w.dims[1]! * group
    if (b !== undefined && (b.dataType !== DataType.FLOAT || elementCount(b.dims) !== outChannels)) return undefined
    return { transpose: isT, w, b, group, outChannels, rank: w.dims.length }
  }

  /** The weight index of (output channel o, everything else): a function that scales each weight of channel o. */
  private scaleOutputs(n: Node, info: NonNullable<ReturnType<GraphEditor["convInfo"]>>, scale: Float64Array) {
    const w = floatValues(info.w)
    const out = new Float64Array(w.length)
    const dims = info.w.dims
    const inner = elementCount(dims.slice(2))
    if (!info.transpose) {
      // [Cout, Cin/g, k...]
      const per = w.length / dims[0]!
      for (let i = 0; i < w.length; i++) out[i] = w[i]! * scale[Math.floor(i / per)]!
    } else {
      // [Cin, Cout/g, k...]; input channel ci is in group floor(ci / (Cin/g)), output channel g * Cout/g + j
      const cin = dims[0]!
      const coutG = dims[1]!
      const cinG = cin / info.group
      for (let ci = 0; ci < cin; ci++) {
        const grp = Math.floor(ci / cinG)
        for (let j = 0; j < coutG; j++) {
          const s = scale[grp * coutG + j]!
          const base = (ci * coutG + j) * inner
          for (let k = 0; k < inner; k++) out[base + k] = w[base + k]! * s
        }
      }
    }
    n.input[1] = this.addConst(n.input[1]!, dims, out)
  }

  private biasOf(info: NonNullable<ReturnType<GraphEditor["convInfo"]>>): Float64Array {
    return info.b === undefined ? new Float64Array(info.outChannels) : Float64Array.from(floatValues(info.b))
  }

  private setBias(n: Node, base: string, bias: Float64Array) {
    const name = this.addConst(n.input[2] || base, [bias.length], bias)
    if (n.input.length < 3) n.input.push(name)
    else n.input[2] = name
  }

  convForward(): { mul: number; add: number; bn: number } {
    const r = { mul: 0, add: 0, bn: 0 }
    for (const conv of this.snapshot()) {
      if (this.gone.has(conv) || conv.output.length !== 1) continue
      const info = this.convInfo(conv)
      if (info === undefined) continue
      const next = this.soleConsumer(conv.output[0]!)
      if (next === undefined || next.output.length !== 1) continue
      if (this.isOnnx(next, "Mul") || this.isOnnx(next, "Add")) {
        const s = this.split(next)
        if (s === undefined || s.x !== conv.output[0]) continue
        const c = perChannel(this.constOf(s.c)!, info.outChannels, info.rank)
        if (c === undefined) continue
        if (this.isOnnx(next, "Mul")) {
          this.scaleOutputs(conv, info, c)
          if (info.b !== undefined) this.setBias(conv, conv.input[1]!, this.biasOf(info).map((v, i) => v * c[i]!))
          r.mul++
        } else {
          this.setBias(conv, conv.input[1]!, this.biasOf(info).map((v, i) => v + c[i]!))
          r.add++
        }
      } else if (this.isOnnx(next, "BatchNormalization") && next.input[0] === conv.output[0]) {
        // inference form only: one output, constant statistics
        if (attrInt(next, "training_mode", 0) !== 0 || (this.opset < 9 && attr(next, "spatial") !== undefined)) {
          continue
        }
        const [scale, bias, mean, variance] = next.input.slice(1).map((i) => this.constOf(i))
        if (!scale || !bias || !mean || !variance) continue
        const ps = [scale, bias, mean, variance].map((t) => perChannel(t, info.outChannels, 2))
        if (ps.some((p) => p === undefined)) continue
        const [g, beta, mu, v] = ps as [Float64Array, Float64Array, Float64Array, Float64Array]
        const eps = attrFloat(next, "epsilon", 1e-5)
        // y = g * (x - mu) / sqrt(v + eps) + beta = x * k + (beta - mu * k); eps is a float32 attribute, the
        // variance and eps are added in float32 by onnxruntime too, so round the sum like it does
        const k = g.map((gi, i) => gi / Math.sqrt(Math.fround(v[i]! + eps)))
        const b0 = this.biasOf(info)
        this.scaleOutputs(conv, info, k)
        this.setBias(conv, conv.input[1]!, b0.map((bi, i) => bi * k[i]! + beta[i]! - mu[i]! * k[i]!))
        r.bn++
      } else continue
      conv.output[0] = next.output[0]!
      this.remove(next)
    }
    return r
  }

  // -------------------------------------------------------------------------------------------------------------
  // x * s (+ b) whose consumers are all Convs: fold s (and b, when the Conv has no padding) into those Convs

  private padsZero(conv: Node): boolean {
    const autoPad = attrString(conv, "auto_pad") ?? "NOTSET"
    if (autoPad === "VALID") return true
    if (autoPad !== "NOTSET") return false
    return (attrInts(conv, "pads") ?? []).every((p) => p === 0)
  }

  /** `keepPaddedAffine`: leave `x * s + b` before padded Convs as it is (for affineToDepthwise). */
  affineIntoNextConv(keepPaddedAffine: boolean): { mul: number; add: number } {
    const r = { mul: 0, add: 0 }
    for (const mul of this.snapshot()) {
      if (this.gone.has(mul) || !this.isOnnx(mul, "Mul") || mul.output.length !== 1) continue
      const sm = this.split(mul)
      if (sm === undefined) continue
      // the affine's end: the Mul, or the Add by a constant that is the Mul's only consumer
      let add: Node | undefined = this.soleConsumer(mul.output[0]!)
      let sa: { x: string; c: string } | undefined
      if (add !== undefined && this.isOnnx(add, "Add") && add.output.length === 1) {
        sa = this.split(add)
        if (sa === undefined || sa.x !== mul.output[0]) add = undefined
      } else add = undefined
      const end = add ?? mul
      const out = end.output[0]!
      if (this.graphOutputs.has(out)) continue
      const convs = this.consumers(out)
      if (convs.length === 0) continue
      // every consumer a Conv reading it as its data input only, with constant weights, all of one input width
      const infos = convs.map((c) => (this.isOnnx(c, "Conv") && c.input[0] === out &&
          c.input.indexOf(out, 1) < 0 ? this.convInfo(c) : undefined))
      if (infos.some((i) => i === undefined)) continue
      const cin = infos.map((i) => i!.w.dims[1]! * i!.group)
      if (cin.some((c) => c !== cin[0])) continue
      const rank = infos[0]!.rank
      // a constant of the Conv's rank could have raised the rank of x (x * [1, C, 1, 1] with x [C, H, W]): refuse
      const tm = this.constOf(sm.c)!
      const ta = sa === undefined ? undefined : this.constOf(sa.c)!
      if (tm.dims.length >= rank || (ta !== undefined && ta.dims.length >= rank)) continue
      const s = perChannel(tm, cin[0]!, rank)
      if (s === undefined) continue
      const b = ta === undefined ? undefined : perChannel(ta, cin[0]!, rank)
      if (ta !== undefined && b === undefined) continue
      const foldAdd = b !== undefined && convs.every((c) => this.padsZero(c))
      if (b !== undefined && !foldAdd && (keepPaddedAffine || s.some((v) => v === 0 || !Number.isFinite(v)))) continue
      // fold x * s (and + b when no Conv pads) into each Conv reading `out`
      convs.forEach((conv, ci) => {
        const info = infos[ci]!
        const w = floatValues(info.w)
        const dims = info.w.dims
        const cout = dims[0]!
        const cinG = dims[1]!
        const coutG = cout / info.group
        const inner = elementCount(dims.slice(2))
        const wOut = new Float64Array(w.length)
        const bias = this.biasOf(info)
        for (let o = 0; o < cout; o++) {
          const grp = Math.floor(o / coutG)
          for (let j = 0; j < cinG; j++) {
            const ch = grp * cinG + j
            const base = (o * cinG + j) * inner
            for (let k = 0; k < inner; k++) {
              wOut[base + k] = w[base + k]! * s[ch]!
              if (foldAdd) bias[o] = bias[o]! + w[base + k]! * b![ch]!
            }
          }
        }
        conv.input[1] = this.addConst(conv.input[1]!, dims, wOut)
        if (foldAdd) this.setBias(conv, conv.input[1], bias)
      })
      if (add === undefined || foldAdd) {
        for (const conv of convs) conv.input[0] = sm.x
        if (add === undefined) this.remove(mul)
        else this.remove(mul, add)
        r.mul++
        if (foldAdd) r.add++
      } else {
        // keep x + b / s before the padded Convs, which now scale by s themselves
        const q = b!.map((v, i) => v / s[i]!)
        const uniform = q.every((v) => v === q[0])
        const dims = uniform && elementCount(ta!.dims) === 1
          ? ta!.dims
          : elementCount(ta!.dims) === 1
          ? tm.dims
          : ta!.dims
        add.input = [sm.x, this.addConst(sa!.c, dims, elementCount(dims) === 1 ? q.subarray(0, 1) : q)]
        this.remove(mul)
        r.mul++
      }
    }
    return r
  }

  // -------------------------------------------------------------------------------------------------------------
  // ConvTranspose whose kernel equals its stride (each input pixel paints its own k x k block) -> a 1x1 Conv to
  // Cout * k * k channels and a DepthToSpace; then per-pixel ops are moved before the DepthToSpace (where
  // onnxruntime fuses them into the Conv), a small 1x1 Conv after it is moved before it, and two DepthToSpace in a
  // row become one. The DB head's two upsampling ConvTransposes, their Relu and the final Sigmoid become two 1x1
  // Convs at a quarter of the resolution and one DepthToSpace.

  private attrIntsOr(n: Node, name: string, dflt: ReadonlyArray<number>): ReadonlyArray<number> {
    return attrInts(n, name) ?? dflt
  }

  /** A Conv or ConvTranspose with no padding, unit dilations and no output padding or shape. */
  private plainWindow(n: Node, rank: number): boolean {
    const spatial = rank - 2
    const autoPad = attrString(n, "auto_pad") ?? "NOTSET"
    if (autoPad !== "NOTSET" && autoPad !== "VALID") return false
    if (this.attrIntsOr(n, "pads", []).some((p) => p !== 0)) return false
    if (this.attrIntsOr(n, "dilations", []).some((d) => d !== 1)) return false
    if (this.attrIntsOr(n, "output_padding", []).some((d) => d !== 0)) return false
    if (attr(n, "output_shape") !== undefined) return false
    return this.attrIntsOr(n, "dilations", Array<number>(spatial).fill(1)).length === spatial
  }

  private depthToSpace(input: string, output: string, blocksize: number, like: Node): Node {
    return {
      input: [input],
      output: [output],
      name: this.nodeName(like, "DepthToSpace"),
      opType: "DepthToSpace",
      domain: "",
      attribute: [
        { name: "blocksize", type: AttributeType.INT, i: BigInt(blocksize), other: [] },
        { name: "mode", type: AttributeType.STRING, s: new TextEncoder().encode("CRD"), other: [] }
      ],
      other: []
    }
  }

  private conv1x1(input: string, output: string, w: string, b: string | undefined, like: Node): Node {
    return {
      input: b === undefined ? [input, w] : [input, w, b],
      output: [output],
      name: this.nodeName(like, "Conv"),
      opType: "Conv",
      domain: "",
      attribute: [{ name: "kernel_shape", type: AttributeType.INTS, ints: [1n, 1n], other: [] }],
      other: []
    }
  }

  convTransposeToDepthToSpace(): number {
    if (this.opset < 11) return 0 // DepthToSpace's CRD mode
    let count = 0
    for (const n of this.snapshot()) {
      if (this.gone.has(n) || !this.isOnnx(n, "ConvTranspose") || n.output.length !== 1) continue
      const info = this.convInfo(n)
      if (info === undefined || info.rank !== 4 || info.group !== 1 || !this.plainWindow(n, 4)) continue
      const [cin, cout, kh, kw] = info.w.dims as [number, number, number, number]
      if (kh !== kw || !this.attrIntsOr(n, "kernel_shape", [kh, kw]).every((k) => k === kh)) continue
      if (!this.attrIntsOr(n, "strides", [1, 1]).every((st) => st === kh)) continue
      const k = kh
      if (k < 2) continue
      const w = floatValues(info.w)
      const w2 = new Float64Array(w.length)
      // [Cin, Cout, k, k] -> [Cout * k * k, Cin, 1, 1], output channel o * k * k + a * k + b
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) {
          for (let ab = 0; ab < k * k; ab++) w2[(o * k * k + ab) * cin + c] = w[(c * cout + o) * k * k + ab]!
        }
      }
      const bias = info.b === undefined ? undefined : floatValues(info.b)
      const b2 = bias === undefined
        ? undefined
        : Float64Array.from({ length: cout * k * k }, (_, i) => bias[Math.floor(i / (k * k))]!)
      const out = n.output[0]!
      const tmp = `${out}__blocks${this.uid++}`
      const wName = this.addConst(n.input[1]!, [cout * k * k, cin, 1, 1], w2)
      const bName = b2 === undefined ? undefined : this.addConst(n.input[2]!, [cout * k * k], b2)
      this.replace(n, this.conv1x1(n.input[0]!, tmp, wName, bName, n), this.depthToSpace(tmp, out, k, n))
      this.invalidate()
      count++
    }
    return count
  }

  /** DepthToSpace (CRD): its block size, or undefined. */
  private d2s(n: Node | undefined): number | undefined {
    if (n === undefined || !this.isOnnx(n, "DepthToSpace") || n.output.length !== 1) return undefined
    if ((attrString(n, "mode") ?? "DCR") !== "CRD") return undefined
    return attrInt(n, "blocksize", 0) || undefined
  }

  /** An op applied to each element alike (no per-channel parameters), which commutes with moving elements about. */
  private perElement(n: Node): boolean {
    if (n.output.length !== 1) return false
    if (["Relu", "Sigmoid", "Tanh", "HardSigmoid", "LeakyRelu", "HardSwish", "Elu", "Softplus", "Identity"]
      .some((t) => this.isOnnx(n, t))) return n.input.length === 1
    if (this.isOnnx(n, "Clip")) {
      return n.input.slice(1).every((i) => {
        const t = i === "" ? undefined : this.constOf(i)
        return i === "" || (t !== undefined && elementCount(t.dims) === 1)
      })
    }
    return false
  }

  /** Moves a per-element op after a DepthToSpace before it. */
  unaryBeforeDepthToSpace(): number {
    let count = 0
    for (const d of this.snapshot()) {
      if (this.gone.has(d) || this.d2s(d) === undefined) continue
      const u = this.soleConsumer(d.output[0]!)
      if (u === undefined || !this.perElement(u) || u.input[0] !== d.output[0]) continue
      const out = u.output[0]!
      const tmp = `${out}__before_d2s${this.uid++}`
      u.input[0] = d.input[0]!
      u.output[0] = tmp
      d.input[0] = tmp
      d.output[0] = out
      // d now reads u: move it after u
      this.nodes.splice(this.nodes.indexOf(d), 1)
      this.nodes.splice(this.nodes.indexOf(u) + 1, 0, d)
      this.invalidate()
      count++
    }
    return count
  }

  /**
   * DepthToSpace(k) then a 1x1 Conv with few outputs -> a 1x1 Conv on each block's channels then DepthToSpace(k):
   * the weights are block-diagonal (each sub-pixel's channels map to that sub-pixel's outputs), `maxOut` bounds
   * the Conv's Cout * k * k so the zeros cost little.
   */
  convBeforeDepthToSpace(maxOut: number): number {
    let count = 0
    for (const d of this.snapshot()) {
      if (this.gone.has(d)) continue
      const k = this.d2s(d)
      if (k === undefined) continue
      const conv = this.soleConsumer(d.output[0]!)
      if (conv === undefined || !this.isOnnx(conv, "Conv") || conv.input[0] !== d.output[0]) continue
      const info = this.convInfo(conv)
      if (info === undefined || info.rank !== 4 || info.group !== 1 || !this.plainWindow(conv, 4)) continue
      const [cout, cin, kh, kw] = info.w.dims as [number, number, number, number]
      if (kh !== 1 || kw !== 1 || !this.attrIntsOr(conv, "strides", [1, 1]).every((st) => st === 1)) continue
      if (cout * k * k > maxOut) continue
      const w = floatValues(info.w)
      const kk = k * k
      const w2 = new Float64Array(cout * kk * cin * kk)
      for (let o = 0; o < cout; o++) {
        for (let c = 0; c < cin; c++) {
          for (let ab = 0; ab < kk; ab++) w2[(o * kk + ab) * cin * kk + c * kk + ab] = w[o * cin + c]!
        }
      }
      const bias = info.b === undefined ? undefined : floatValues(info.b)
      const b2 = bias === undefined
        ? undefined
        : Float64Array.from({ length: cout * kk }, (_, i) => bias[Math.floor(i / kk)]!)
      const out = conv.output[0]!
      const tmp = `${out}__blocks${this.uid++}`
      const wName = this.addConst(conv.input[1]!, [cout * kk, cin * kk, 1, 1], w2)
      const bName = b2 === undefined ? undefined : this.addConst(conv.input[2]!, [cout * kk], b2)
      this.replace(conv, this.conv1x1(d.input[0]!, tmp, wName, bName, conv), this.depthToSpace(tmp, out, k, conv))
      this.remove(d)
      this.invalidate()
      count++
    }
    return count
  }

  /** DepthToSpace(k1) then DepthToSpace(k2) -> DepthToSpace(k1 * k2), the channels reordered in the Conv before. */
  mergeDepthToSpace(): number {
    let count = 0
    for (const d1 of this.snapshot()) {
      if (this.gone.has(d1)) continue
      const k1 = this.d2s(d1)
      if (k1 === undefined) continue
      const d2 = this.soleConsumer(d1.output[0]!)
      const k2 = this.d2s(d2)
      if (d2 === undefined || k2 === undefined || d2.input[0] !== d1.output[0]) continue
      // back through per-element ops, each read by the next alone, to a Conv
      let v = d1.input[0]!
      let p = this.producer(v)
      while (p !== undefined && this.perElement(p) && this.soleConsumer(v) !== undefined) {
        v = p.input[0]!
        p = this.producer(v)
      }
      if (p === undefined || this.soleConsumer(v) === undefined) continue
      const info = this.convInfo(p)
      if (info === undefined || info.transpose || info.rank !== 4) continue
      const K = k1 * k2
      const channels = info.outChannels
      if (channels % (K * K) !== 0) continue
      const c0 = channels / (K * K)
      // new channel c * K^2 + A * K + B (A = a1 * k2 + a2, B = b1 * k2 + b2) is old (c * k2^2 + a2 * k2 + b2) * k1^2
      // + a1 * k1 + b1
      const from = new Int32Array(channels)
      for (let c = 0; c < c0; c++) {
        for (let a1 = 0; a1 < k1; a1++) {
          for (let a2 = 0; a2 < k2; a2++) {
            for (let b1 = 0; b1 < k1; b1++) {
              for (let b2 = 0; b2 < k2; b2++) {
                const to = c * K * K + (a1 * k2 + a2) * K + (b1 * k2 + b2)
                from[to] = (c * k2 * k2 + a2 * k2 + b2) * k1 * k1 + a1 * k1 + b1
              }
            }
          }
        }
      }
      const w = floatValues(info.w)
      const row = w.length / channels
      const w2 = new Float64Array(w.length)
      for (let o = 0; o < channels; o++) for (let j = 0; j < row; j++) w2[o * row + j] = w[from[o]! * row + j]!
      p.input[1] = this.addConst(p.input[1]!, info.w.dims, w2)
      if (info.b !== undefined) {
        const b = floatValues(info.b)
        this.setBias(p, p.input[1], Float64Array.from({ length: channels }, (_, o) => b[from[o]!]!))
      }
      d2.input[0] = d1.input[0]!
      d2.attribute = d2.attribute.map((a) => a.name === "blocksize" ? { ...a, i: BigInt(K) } : a)
      this.remove(d1)
      this.invalidate()
      count++
    }
    return count
  }

  // -------------------------------------------------------------------------------------------------------------
  // What is known of a value's shape: its rank and channel count (axis 1), from the Convs it comes from

  private producer(name: string): Node | undefined {
    if (this.producerMap === undefined) {
      this.producerMap = new Map()
      for (const n of this.nodes) if (n !== undefined) for (const o of n.output) this.producerMap.set(o, n)
    }
    return this.producerMap.get(name)
  }

  channelsOf(name: string): { rank: number; channels: number } | undefined {
    const memo = this.shapeMemo.get(name)
    if (memo !== undefined) return memo ?? undefined
    this.shapeMemo.set(name, null)
    const n = this.producer(name)
    let r: { rank: number; channels: number } | undefined
    if (n !== undefined && n.output[0] === name) {
      const info = this.convInfo(n)
      if (info !== undefined) r = { rank: info.rank, channels: info.outChannels }
      else if (SHAPE_KEEPING.some((t) => this.isOnnx(n, t))) r = this.channelsOf(n.input[0]!)
      else if (["Mul", "Add", "Sub", "Div"].some((t) => this.isOnnx(n, t)) && n.input.length === 2) {
        // both operands' shapes known with the same rank and channels: the result has them too; an operand of
        // unknown shape could broadcast anything
        const sp = this.split(n)
        if (sp !== undefined) {
          const x = this.channelsOf(sp.x)
          const t = this.constOf(sp.c)!
          if (x !== undefined && t.dims.length <= x.rank && perChannel(t, x.channels, x.rank) !== undefined) r = x
        } else if (!n.input.some((i) => this.consts.has(i))) {
          const [a, b] = n.input.map((i) => this.channelsOf(i))
          if (a !== undefined && b !== undefined && a.rank === b.rank && a.channels === b.channels) r = a
        }
      }
    }
    this.shapeMemo.set(name, r ?? null)
    return r
  }

  // -------------------------------------------------------------------------------------------------------------
  // x * s + b (or x * s, or x + b) by per-channel constants on a Conv's output that could not be folded into a
  // neighbouring Conv -> a 1x1 depthwise Conv with weights s and bias b. The arithmetic is the same, but the value
  // stays in onnxruntime's blocked (NCHWc) layout between Convs instead of being reordered out and back in.

  affineToDepthwise(blockSize: number): number {
    let count = 0
    this.invalidate()
    for (const first of this.snapshot()) {
      if (this.gone.has(first) || first.output.length !== 1) continue
      const isMul = this.isOnnx(first, "Mul")
      if (!isMul && !this.isOnnx(first, "Add")) continue
      const sf = this.split(first)
      if (sf === undefined) continue
      const shape = this.channelsOf(sf.x)
      // (a 1 x 1 gate after a global pool is too small to matter)
      if (shape === undefined || shape.channels % blockSize !== 0 || this.isGlobalPooled(sf.x)) continue
      const tf = this.constOf(sf.c)!
      if (tf.dims.length > shape.rank) continue
      const cf = perChannel(tf, shape.channels, shape.rank)
      if (cf === undefined) continue
      const scale = isMul ? cf : new Float64Array(shape.channels).fill(1)
      let bias = isMul ? new Float64Array(shape.channels) : cf
      let end = first
      if (isMul) {
        const add = this.soleConsumer(first.output[0]!)
        const sa = add !== undefined && this.isOnnx(add, "Add") && add.output.length === 1 ? this.split(add) : undefined
        const ta = sa === undefined ? undefined : this.constOf(sa.c)!
        const ca = ta === undefined || ta.dims.length > shape.rank
          ? undefined
          : perChannel(ta, shape.channels, shape.rank)
        if (ca !== undefined && sa!.x === first.output[0]) {
          bias = ca
          end = add!
        }
      }
      // x * 1 is left alone: onnxruntime reads Mul(x, 1) -> Sigmoid -> Mul as Swish (QuickGelu)
      if (end === first && isMul && scale.every((v) => v === 1)) continue
      const c = shape.channels
      const conv: Node = {
        input: [
          sf.x,
          this.addConst(`${end.output[0]!}_dw_W`, [c, 1, ...Array<number>(shape.rank - 2).fill(1)], scale),
          this.addConst(`${end.output[0]!}_dw_B`, [c], bias)
        ],
        output: [end.output[0]!],
        name: this.nodeName(end, "DepthwiseAffine"),
        opType: "Conv",
        domain: "",
        attribute: [
          { name: "group", type: AttributeType.INT, i: BigInt(c), other: [] },
          {
            name: "kernel_shape",
            type: AttributeType.INTS,
            ints: Array<bigint>(shape.rank - 2).fill(1n),
            other: []
          }
        ],
        other: []
      }
      this.replace(end, conv)
      if (end !== first) this.remove(first)
      this.invalidate()
      count++
    }
    return count
  }

  // -------------------------------------------------------------------------------------------------------------
  // x + x * h  ->  x * (h + 1), h of any (broadcastable) shape: one full-size pass fewer when h is a per-channel
  // gate (the "residual squeeze-excitation" of the DB neck)

  residualGate(): number {
    let count = 0
    for (const add of this.snapshot()) {
      if (this.gone.has(add) || !this.isOnnx(add, "Add") || add.input.length !== 2) continue
      for (const k of [0, 1]) {
        const x = add.input[k]!
        const mulOut = add.input[1 - k]!
        if (x === mulOut) continue
        const mul = this.producer(mulOut)
        if (mul === undefined || !this.isOnnx(mul, "Mul") || mul.input.length !== 2) continue
        if (this.soleConsumer(mulOut) !== add) continue
        const j = mul.input.indexOf(x)
        if (j < 0 || mul.input[1 - j] === x) continue
        const h = mul.input[1 - j]!
        // exact for any shapes (h + 1 has h's shape); only worth it when h is small
        if (!this.isGlobalPooled(h)) continue
        const one = this.addConst(`${h}_one`, [], new Float64Array([1]))
        const h1 = `${h}__plus1_${this.uid++}`
        const plus: Node = {
          input: [h, one],
          output: [h1],
          name: this.nodeName(mul, "GatePlusOne"),
          opType: "Add",
          domain: "",
          attribute: [],
          other: []
        }
        const gate: Node = {
          input: [x, h1],
          output: [add.output[0]!],
          name: this.nodeName(add, "Gate"),
          opType: "Mul",
          domain: "",
          attribute: [],
          other: []
        }
        this.replace(add, plus, gate)
        this.remove(mul)
        this.invalidate()
        count++
        break
      }
    }
    return count
  }

  /** Whether a value is computed from a GlobalAveragePool by per-pixel ops only (so its spatial size is 1 x 1). */
  private isGlobalPooled(name: string, depth = 0): boolean {
    const n = this.producer(name)
    if (n === undefined || depth > 16) return false
    if (this.isOnnx(n, "GlobalAveragePool") || this.isOnnx(n, "GlobalMaxPool")) return true
    if (this.isOnnx(n, "Conv")) {
      const k = attrInts(n, "kernel_shape") ?? this.constOf(n.input[1]!)?.dims.slice(2)
      if (k === undefined || k.some((v) => v !== 1) || !this.padsZero(n)) return false
      return this.isGlobalPooled(n.input[0]!, depth + 1)
    }
    if (["HardSigmoid", "Relu", "Sigmoid", "Clip", "HardSwish"].some((t) => this.isOnnx(n, t))) {
      return this.isGlobalPooled(n.input[0]!, depth + 1)
    }
    return false
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Removes Constant nodes and initializers nothing reads any more; returns how many. */
  removeDead(): number {
    // Constants read nothing, so one sweep finds every unused one
    let removed = 0
    const dead = this.nodes.filter((n): n is Node =>
      n !== undefined && this.isOnnx(n, "Constant") &&
      n.output.every((o) => !this.graphOutputs.has(o) && this.consumers(o).length === 0)
    )
    const deadSet = new Set(dead)
    this.nodes = this.nodes.filter((n) => n === undefined || !deadSet.has(n))
    removed += dead.length
    this.invalidate()
    const used = (name: string) => this.graphOutputs.has(name) || this.consumers(name).length > 0
    const inputs = new Set(this.graph.input.map((v) => v.name))
    this.graph.initializer = this.graph.initializer.filter((t) => inputs.has(t.name) || used(t.name))
    for (let i = this.newInitializers.length - 1; i >= 0; i--) {
      if (!used(this.newInitializers[i]!.name)) this.newInitializers.splice(i, 1)
    }
    return removed
  }

  /** Writes the edited node list and the new initializers back into the graph. */
  commit(): void {
    this.graph.node = this.nodes.filter((n): n is Node => n !== undefined)
    this.graph.initializer.push(...this.newInitializers)
    const live = new Set<string>()
    for (const n of this.graph.node) for (const o of n.output) live.add(o)
    this.graph.valueInfo = this.graph.valueInfo.filter((v) => live.has(v.name))
  }
}
