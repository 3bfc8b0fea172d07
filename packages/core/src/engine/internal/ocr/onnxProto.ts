/**
 * Just enough of the ONNX file format (protocol buffers, onnx.proto) to rewrite a model's graph: ModelProto's opset
 * imports and graph, GraphProto's nodes, initializers, inputs, outputs and value_info, NodeProto, AttributeProto and
 * TensorProto. Every field not named here (doc strings, metadata, value_info types, training info, ...) is kept as
 * the bytes it was read from. Messages are written with their fields in field-number order and repeated scalars
 * packed as onnx.proto (proto2) declares them, as protobuf's own serialisers do, so an untouched model comes back
 * byte for byte and a rewritten one loses nothing it does not change.
 *
 * Written from the protocol-buffers wire format (varint, 64-bit, length-delimited and 32-bit records) and the field
 * numbers of onnx.proto (IR version 3 and later).
 */

// ---------------------------------------------------------------------------------------------------------------
// Wire format

const VARINT = 0
const I64 = 1
const LEN = 2
const I32 = 5

/** A field kept as it was read: its key and its payload bytes, re-encoded as they came. */
export interface RawField {
  readonly field: number
  readonly wire: number
  /** The whole record (key included), as read. */
  readonly bytes: Uint8Array
}

class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}
  get done() {
    return this.pos >= this.buf.length
  }
  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error("protobuf: truncated varint")
      const b = this.buf[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
      if (shift > 70n) throw new Error("protobuf: varint too long")
    }
  }
  /** A varint that fits a JS number (lengths, keys, small enums). */
  uint(): number {
    const v = this.varint()
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("protobuf: varint too large")
    return Number(v)
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error("protobuf: truncated field")
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varint()
        return
      case I64:
        this.bytes(8)
        return
      case LEN:
        this.bytes(this.uint())
        return
      case I32:
        this.bytes(4)
        return
      default:
        throw new Error(`protobuf: unsupported wire type ${wire}`)
    }
  }
}

/** One field of a message: its number, wire type, payload reader position and the whole record's bytes. */
interface Field {
  readonly field: number
  readonly wire: number
  /** For LEN fields the payload, for VARINT the value, for I32/I64 the raw 4 or 8 bytes. */
  readonly payload: Uint8Array
  readonly value: bigint
  readonly raw: RawField
}

const fields = (buf: Uint8Array): Array<Field> => {
  const r = new Reader(buf)
  const out: Array<Field> = []
  while (!r.done) {
    const start = r.pos
    const key = r.uint()
    const field = key >>> 3
    const wire = key & 7
    let payload: Uint8Array = new Uint8Array(0)
    let value = 0n
    if (wire === VARINT) value = r.varint()
    else if (wire === LEN) payload = r.bytes(r.uint())
    else if (wire === I64) payload = r.bytes(8)
    else if (wire === I32) payload = r.bytes(4)
    else r.skip(wire)
    out.push({ field, wire, payload, value, raw: { field, wire, bytes: buf.subarray(start, r.pos) } })
  }
  return out
}

/**
 * An encoder that keeps what it writes as a list of byte arrays (large payloads and nested messages by reference),
 * so a weight tensor nested in a node in a graph in a model is copied once, by `finish`.
 */
class Writer {
  private readonly parts: Array<Uint8Array> = []
  private cur = new Uint8Array(256)
  private len = 0
  /** Bytes written so far. */
  size = 0
  private flush() {
    if (this.len === 0) return
    this.parts.push(this.cur.subarray(0, this.len))
    this.cur = this.cur.subarray(this.len)
    this.len = 0
  }
  private ensure(n: number) {
    if (this.len + n <= this.cur.length) return
    this.flush()
    if (this.cur.length < n) this.cur = new Uint8Array(Math.max(1024, n))
  }
  varint(v: bigint | number): void {
    this.ensure(10)
    if (typeof v === "number" && v >= 0 && v < 0x80000000) {
      let x = v
      while (x >= 0x80) {
        this.cur[this.len++] = (x & 0x7f) | 0x80
        this.size++
        x >>>= 7
      }
      this.cur[this.len++] = x
      this.size++
      return
    }
    let x = BigInt.asUintN(64, BigInt(v))
    while (x >= 0x80n) {
      this.cur[this.len++] = Number(x & 0x7fn) | 0x80
      this.size++
      x >>= 7n
    }
    this.cur[this.len++] = Number(x)
    this.size++
  }
  raw(b: Uint8Array): void {
    if (b.length > 512) {
      this.flush()
      this.parts.push(b)
    } else {
      this.ensure(b.length)
      this.cur.set(b, this.len)
      this.len += b.length
    }
    this.size += b.length
  }
  key(field: number, wire: number): void {
    this.varint((field << 3) | wire)
  }
  lenField(field: number, payload: Uint8Array): void {
    this.key(field, LEN)
    this.varint(payload.length)
    this.raw(payload)
  }
  /** A nested message (or packed field) as a length-delimited field, its bytes taken by reference. */
  message(field: number, sub: Writer): void {
    this.key(field, LEN)
    this.varint(sub.size)
    this.flush()
    sub.flush()
    this.parts.push(...sub.parts)
    this.size += sub.size
  }
  str(field: number, s: string): void {
    this.lenField(field, new TextEncoder().encode(s))
  }
  varintField(field: number, v: bigint | number): void {
    this.key(field, VARINT)
    this.varint(v)
  }
  finish(): Uint8Array {
    this.flush()
    const out = new Uint8Array(this.size)
    let o = 0
    for (const p of this.parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  }
}

/**
 * Writes a message's records in field-number order (what protobuf serialisers emit, so an untouched message
 * re-encodes to the same bytes); records of one field keep their relative order.
 */
type Emit = (w: Writer) => void
class MessageBuilder {
  private readonly records: Array<{ field: number; seq: number; emit: Emit }> = []
  add(field: number, emit: Emit): void {
    this.records.push({ field, seq: this.records.length, emit })
  }
  raw(f: RawField): void {
    this.add(f.field, (w) => w.raw(f.bytes))
  }
  finish(): Writer {
    const w = new Writer()
    this.records.sort((a, b) => a.field - b.field || a.seq - b.seq)
    for (const r of this.records) r.emit(w)
    return w
  }
}

const floatBytes = (values: ReadonlyArray<number>): Uint8Array => {
  const b = new Uint8Array(values.length * 4)
  const dv = new DataView(b.buffer)
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true))
  return b
}

const utf8 = new TextDecoder("utf-8")
const str = (b: Uint8Array) => utf8.decode(b)

/** Repeated varints, packed or not (a reader must accept both). */
const pushVarints = (f: Field, into: Array<bigint>) => {
  if (f.wire === VARINT) into.push(f.value)
  else if (f.wire === LEN) {
    const r = new Reader(f.payload)
    while (!r.done) into.push(r.varint())
  }
}

/** Repeated 32-bit floats, packed or not. */
const pushFloats = (f: Field, into: Array<number>) => {
  const dv = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength)
  for (let o = 0; o + 4 <= f.payload.length; o += 4) into.push(dv.getFloat32(o, true))
}

const signed64 = (v: bigint) => BigInt.asIntN(64, v)
const signed32 = (v: bigint) => Number(BigInt.asIntN(32, v))

// ---------------------------------------------------------------------------------------------------------------
// Messages

/** TensorProto data types used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const

/** TensorProto: dims (1), data_type (2), float_data (4), int32_data (5), int64_data (7), name (8), raw_data (9). */
export interface Tensor {
  name: string
  dims: Array<number>
  dataType: number
  /** raw_data, when the values were stored that way (the usual case). */
  rawData?: Uint8Array | undefined
  floatData?: Array<number> | undefined
  int32Data?: Array<number> | undefined
  int64Data?: Array<bigint> | undefined
  /** Other fields (doc_string, double_data, external_data, ...), kept as read. */
  other: Array<RawField>
}

/** AttributeProto types. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10
} as const

/** AttributeProto: name (1), f (2), i (3), s (4), t (5), floats (7), ints (8), type (20). */
export interface Attribute {
  name: string
  type: number
  f?: number | undefined
  i?: bigint | undefined
  s?: Uint8Array | undefined
  t?: Tensor | undefined
  floats?: Array<number> | undefined
  ints?: Array<bigint> | undefined
  /** Other fields (g, graphs, strings, tensors, doc_string, ref_attr_name, ...), kept as read. */
  other: Array<RawField>
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5), domain (7). */
export interface Node {
  input: Array<string>
  output: Array<string>
  name: string
  opType: string
  domain: string
  attribute: Array<Attribute>
  other: Array<RawField>
}

/** ValueInfoProto, kept as read but for its name (1), which may be looked up. */
export interface ValueInfo {
  name: string
  /** The whole encoded message. */
  bytes: Uint8Array
}

/** GraphProto: node (1), name (2), initializer (5), input (11), output (12), value_info (13). */
export interface Graph {
  node: Array<Node>
  name: string
  initializer: Array<Tensor>
  input: Array<ValueInfo>
  output: Array<ValueInfo>
  valueInfo: Array<ValueInfo>
  other: Array<RawField>
}

/** OperatorSetIdProto: domain (1), version (2). */
export interface OpsetId {
  /** "" (or absent) is the default ONNX domain. */
  domain: string
  version: number
  /** Whether the domain was written out even when "" (exporters differ; kept so the bytes round-trip). */
  explicitDomain?: boolean | undefined
}

/** ModelProto: ir_version (1), graph (7), opset_import (8); everything else kept as read. */
export interface Model {
  irVersion: bigint
  opsetImport: Array<OpsetId>
  graph: Graph
  /** The other fields of ModelProto (producer, metadata, ...), kept as read. */
  other: Array<RawField>
}

const decodeTensor = (buf: Uint8Array): Tensor => {
  const t: Tensor = { name: "", dims: [], dataType: 0, other: [] }
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1: {
        const dims: Array<bigint> = []
        pushVarints(f, dims)
        for (const d of dims) t.dims.push(Number(signed64(d)))
        break
      }
      case 2:
        t.dataType = Number(f.value)
        break
      case 4:
        pushFloats(f, (t.floatData ??= []))
        break
      case 5: {
        const v: Array<bigint> = []
        pushVarints(f, v)
        ;(t.int32Data ??= []).push(...v.map(signed32))
        break
      }
      case 7: {
        const v: Array<bigint> = []
        pushVarints(f, v)
        ;(t.int64Data ??= []).push(...v.map(signed64))
        break
      }
      case 8:
        t.name = str(f.payload)
        break
      case 9:
        t.rawData = f.payload
        break
      default:
        t.other.push(f.raw)
    }
  }
  return t
}

const encodeTensor = (t: Tensor): Writer => {
  const m = new MessageBuilder()
  // dims is a proto2 repeated int64 without [packed]: one record per dimension
  for (const d of t.dims) m.add(1, (w) => w.varintField(1, d))
  m.add(2, (w) => w.varintField(2, t.dataType))
  const floats = t.floatData
  if (floats && floats.length > 0) m.add(4, (w) => w.lenField(4, floatBytes(floats)))
  const int32 = t.int32Data
  if (int32 && int32.length > 0) {
    m.add(5, (w) => {
      const p = new Writer()
      for (const v of int32) p.varint(BigInt(v))
      w.message(5, p)
    })
  }
  const int64 = t.int64Data
  if (int64 && int64.length > 0) {
    m.add(7, (w) => {
      const p = new Writer()
      for (const v of int64) p.varint(v)
      w.message(7, p)
    })
  }
  if (t.name !== "") m.add(8, (w) => w.str(8, t.name))
  const raw = t.rawData
  if (raw !== undefined) m.add(9, (w) => w.lenField(9, raw))
  for (const o of t.other) m.raw(o)
  return m.finish()
}

const decodeAttribute = (buf: Uint8Array): Attribute => {
  const a: Attribute = { name: "", type: 0, other: [] }
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1:
        a.name = str(f.payload)
        break
      case 2:
        a.f = new DataView(f.payload.buffer, f.payload.byteOffset, 4).getFloat32(0, true)
        break
      case 3:
        a.i = signed64(f.value)
        break
      case 4:
        a.s = f.payload
        break
      case 5:
        a.t = decodeTensor(f.payload)
        break
      case 7:
        pushFloats(f, (a.floats ??= []))
        break
      case 8: {
        const v: Array<bigint> = []
        pushVarints(f, v)
        ;(a.ints ??= []).push(...v.map(signed64))
        break
      }
      case 20:
        a.type = Number(f.value)
        break
      default:
        a.other.push(f.raw)
    }
  }
  return a
}

const encodeAttribute = (a: Attribute): Writer => {
  const m = new MessageBuilder()
  m.add(1, (w) => w.str(1, a.name))
  const f = a.f
  if (f !== undefined) {
    m.add(2, (w) => {
      w.key(2, I32)
      w.raw(floatBytes([f]))
    })
  }
  const i = a.i
  if (i !== undefined) m.add(3, (w) => w.varintField(3, i))
  const s = a.s
  if (s !== undefined) m.add(4, (w) => w.lenField(4, s))
  const t = a.t
  if (t !== undefined) m.add(5, (w) => w.message(5, encodeTensor(t)))
  // floats and ints are proto2 repeated fields without [packed]: one record per value
  for (const v of a.floats ?? []) {
    m.add(7, (w) => {
      w.key(7, I32)
      w.raw(floatBytes([v]))
    })
  }
  for (const v of a.ints ?? []) m.add(8, (w) => w.varintField(8, v))
  for (const o of a.other) m.raw(o)
  if (a.type !== 0) m.add(20, (w) => w.varintField(20, a.type))
  return m.finish()
}

const decodeNode = (buf: Uint8Array): Node => {
  const n: Node = { input: [], output: [], name: "", opType: "", domain: "", attribute: [], other: [] }
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1:
        n.input.push(str(f.payload))
        break
      case 2:
        n.output.push(str(f.payload))
        break
      case 3:
        n.name = str(f.payload)
        break
      case 4:
        n.opType = str(f.payload)
        break
      case 5:
        n.attribute.push(decodeAttribute(f.payload))
        break
      case 7:
        n.domain = str(f.payload)
        break
      default:
        n.other.push(f.raw)
    }
  }
  return n
}

const encodeNode = (n: Node): Writer => {
  const m = new MessageBuilder()
  for (const s of n.input) m.add(1, (w) => w.str(1, s))
  for (const s of n.output) m.add(2, (w) => w.str(2, s))
  if (n.name !== "") m.add(3, (w) => w.str(3, n.name))
  m.add(4, (w) => w.str(4, n.opType))
  for (const a of n.attribute) m.add(5, (w) => w.message(5, encodeAttribute(a)))
  if (n.domain !== "") m.add(7, (w) => w.str(7, n.domain))
  for (const o of n.other) m.raw(o)
  return m.finish()
}

const decodeValueInfo = (buf: Uint8Array): ValueInfo => {
  let name = ""
  for (const f of fields(buf)) if (f.field === 1) name = str(f.payload)
  return { name, bytes: buf }
}

const decodeGraph = (buf: Uint8Array): Graph => {
  const g: Graph = { node: [], name: "", initializer: [], input: [], output: [], valueInfo: [], other: [] }
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1:
        g.node.push(decodeNode(f.payload))
        break
      case 2:
        g.name = str(f.payload)
        break
      case 5:
        g.initializer.push(decodeTensor(f.payload))
        break
      case 11:
        g.input.push(decodeValueInfo(f.payload))
        break
      case 12:
        g.output.push(decodeValueInfo(f.payload))
        break
      case 13:
        g.valueInfo.push(decodeValueInfo(f.payload))
        break
      default:
        g.other.push(f.raw)
    }
  }
  return g
}

const encodeGraph = (g: Graph): Writer => {
  const m = new MessageBuilder()
  for (const n of g.node) m.add(1, (w) => w.message(1, encodeNode(n)))
  if (g.name !== "") m.add(2, (w) => w.str(2, g.name))
  for (const t of g.initializer) m.add(5, (w) => w.message(5, encodeTensor(t)))
  for (const v of g.input) m.add(11, (w) => w.lenField(11, v.bytes))
  for (const v of g.output) m.add(12, (w) => w.lenField(12, v.bytes))
  for (const v of g.valueInfo) m.add(13, (w) => w.lenField(13, v.bytes))
  for (const o of g.other) m.raw(o)
  return m.finish()
}

/** Decodes an ONNX model file. */
export const decodeModel = (buf: Uint8Array): Model => {
  const m: Model = { irVersion: 0n, opsetImport: [], graph: undefined as unknown as Graph, other: [] }
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1:
        m.irVersion = signed64(f.value)
        break
      case 7:
        m.graph = decodeGraph(f.payload)
        break
      case 8: {
        const op: OpsetId = { domain: "", version: 0 }
        for (const g of fields(f.payload)) {
          if (g.field === 1) {
            op.domain = str(g.payload)
            op.explicitDomain = true
          }
          else if (g.field === 2) op.version = Number(signed64(g.value))
        }
        m.opsetImport.push(op)
        break
      }
      default:
        m.other.push(f.raw)
    }
  }
  if (m.graph === undefined) throw new Error("ONNX: the model has no graph")
  return m
}

/** Encodes a model, fields in field-number order. */
export const encodeModel = (model: Model): Uint8Array => {
  const m = new MessageBuilder()
  m.add(1, (w) => w.varintField(1, model.irVersion))
  m.add(7, (w) => w.message(7, encodeGraph(model.graph)))
  for (const op of model.opsetImport) {
    m.add(8, (w) => {
      const p = new Writer()
      if (op.domain !== "" || op.explicitDomain === true) p.str(1, op.domain)
      p.varintField(2, op.version)
      w.message(8, p)
    })
  }
  for (const o of model.other) m.raw(o)
  return m.finish().finish()
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor values

/** A float tensor's values (raw_data or float_data), as float32. */
export const floatValues = (t: Tensor): Float32Array => {
  if (t.dataType !== DataType.FLOAT) throw new Error(`ONNX: tensor ${t.name} is not float32 (type ${t.dataType})`)
  const raw = t.rawData
  if (raw !== undefined) {
    // raw_data is little-endian; copy it into an aligned buffer (one memcpy) on little-endian hosts
    if (littleEndian) return new Float32Array(raw.slice().buffer, 0, raw.length >> 2)
    const out = new Float32Array(raw.length >> 2)
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true)
    return out
  }
  return Float32Array.from(t.floatData ?? [])
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** An integer tensor's values (int64 or int32, raw or not), as numbers. */
export const intValues = (t: Tensor): Array<number> => {
  if (t.rawData !== undefined) {
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength)
    if (t.dataType === DataType.INT64) {
      return Array.from({ length: t.rawData.length / 8 }, (_, i) => Number(dv.getBigInt64(i * 8, true)))
    }
    if (t.dataType === DataType.INT32) {
      return Array.from({ length: t.rawData.length / 4 }, (_, i) => dv.getInt32(i * 4, true))
    }
  }
  if (t.dataType === DataType.INT64) return (t.int64Data ?? []).map(Number)
  if (t.dataType === DataType.INT32) return [...(t.int32Data ?? [])]
  throw new Error(`ONNX: tensor ${t.name} is not an integer tensor (type ${t.dataType})`)
}

/** A float32 tensor stored as raw_data. */
export const floatTensor = (name: string, dims: ReadonlyArray<number>, values: ArrayLike<number>): Tensor => {
  let raw: Uint8Array
  if (littleEndian) raw = new Uint8Array(Float32Array.from(values).buffer)
  else {
    raw = new Uint8Array(values.length * 4)
    const dv = new DataView(raw.buffer)
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true)
  }
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw, other: [] }
}

/** The number of elements of a tensor with these dims. */
export const elementCount = (dims: ReadonlyArray<number>): number => dims.reduce((n, d) => n * d, 1)

/**
 * A ValueInfoProto for a tensor: name (1) and type (2) TypeProto { tensor_type (1) { elem_type (1), shape (2)
 * { dim (1) { dim_value (1) | dim_param (2) } } } }; a string dimension is symbolic.
 */
export const tensorValueInfo = (
  name: string,
  elemType: number,
  dims: ReadonlyArray<number | string>
): ValueInfo => {
  const shape = new Writer()
  for (const d of dims) {
    const dim = new Writer()
    if (typeof d === "number") dim.varintField(1, d)
    else dim.str(2, d)
    shape.message(1, dim)
  }
  const tensorType = new Writer()
  tensorType.varintField(1, elemType)
  tensorType.message(2, shape)
  const type = new Writer()
  type.message(1, tensorType)
  const w = new Writer()
  w.str(1, name)
  w.message(2, type)
  return { name, bytes: w.finish() }
}
