/**
 * PdfStructure: the page count pdf.js reports when it opens a PDF, read from the file's own structure (startxref, the
 * cross-reference tables or streams, the trailer, the catalog, the page tree) on the calling thread, in well under a
 * millisecond for a well-formed file. Admission checks every upload: opening it with pdf.js in a reading thread cost
 * ~9 ms of CPU and a copy of the whole file per upload, most of the server's CPU per upload.
 *
 * It answers only when it is sure pdf.js would open the file with that count, and otherwise says nothing (undefined),
 * so the caller asks pdf.js: an encrypted file (pdf.js decides between an empty password and EncryptedPdf), a damaged
 * cross-reference (pdf.js rebuilds it), a filter other than Flate, a page tree whose first or last page cannot be
 * reached, a linearized file whose page count disagrees with its page tree. It never refuses a file.
 */
import { inflateSync } from "node:zlib"

/** The page count of a well-formed, unencrypted PDF; undefined whenever pdf.js must decide. */
export const pageCount = (bytes: Uint8Array): number | undefined => {
  try {
    return new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).pageCount()
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Objects

class Name {
  constructor(readonly name: string) {}
}
class Ref {
  constructor(readonly num: number, readonly gen: number) {}
}
/** A string's content is never needed: only that it was one. */
const STRING = Symbol("string")
type Dict = Map<string, Obj>
interface PdfStream {
  readonly dict: Dict
  readonly start: number
}
type Obj = number | boolean | null | typeof STRING | Name | Ref | Dict | ReadonlyArray<Obj> | PdfStream

/** Anything this reader does not follow: the caller falls back to pdf.js. */
class Unsure extends Error {}
const unsure = (): never => {
  throw new Unsure()
}

const isDict = (o: Obj | undefined): o is Dict => o instanceof Map
const isStream = (o: Obj | undefined): o is PdfStream =>
  typeof o === "object" && o !== null && "dict" in o && "start" in o
const isName = (o: Obj | undefined, name: string): boolean => o instanceof Name && o.name === name
const integer = (o: Obj | undefined): number => (typeof o === "number" && Number.isInteger(o) ? o : unsure())

/** A cross-reference entry: free, at an offset (`a`, generation `b`), or in object stream `a` at index `b`. */
interface Entry {
  readonly type: 0 | 1 | 2
  readonly a: number
  readonly b: number
}

/**
 * One cross-reference section, newest first. A table in the standard layout (20-byte entries) is read lazily, entry by
 * entry as objects are looked up: a 1 MB file has thousands of entries and the count needs a handful.
 */
type Section =
  | { readonly kind: "table"; readonly runs: ReadonlyArray<Run> }
  | { readonly kind: "entries"; readonly entries: ReadonlyMap<number, Entry> }

/** Consecutive table entries: objects `start` to `start + count - 1`, the first at byte `at`. */
interface Run {
  readonly start: number
  readonly count: number
  readonly at: number
}

/** `0000012345 00000 n` and its end of line: the standard 20-byte table entry. */
const standardEntry = /^\d{10} \d{5} [nf](?: \r| \n|\r\n)$/

const isWhite = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00
// ( ) < > [ ] { } / %
const isDelimiter = (c: number) =>
  c === 0x28 || c === 0x29 || c === 0x3c || c === 0x3e || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d ||
  c === 0x2f || c === 0x25
const isRegular = (c: number | undefined) => c !== undefined && !isWhite(c) && !isDelimiter(c)

/** Bounds on work, so a crafted file costs little before it is handed to pdf.js. */
const MAX_SECTIONS = 64
const MAX_DEPTH = 64
const MAX_PAGE_NODES = 10_000
/** Decompressed bytes of all the streams read (cross-reference and object streams): no zip bomb on the main thread. */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024

// ---------------------------------------------------------------------------------------------------------------------
// The reader

class Reader {
  private p = 0
  private readonly sections: Array<Section> = []
  private inflated = 0
  private readonly objectStreams = new Map<
    number,
    { readonly data: Buffer; readonly nums: ReadonlyArray<number>; readonly offsets: ReadonlyArray<number> }
  >()

  constructor(private readonly b: Buffer) {}

  pageCount(): number {
    const trailer = this.readCrossReference()
    if (trailer.has("Encrypt")) unsure()
    const root = this.deref(trailer.get("Root"))
    if (!isDict(root)) return unsure()
    const pagesRef = root.get("Pages")
    const pages = this.deref(pagesRef)
    if (!isDict(pages)) return unsure()
    const count = integer(this.deref(pages.get("Count")))
    if (count < 1) unsure()
    const first = this.findPage(pagesRef!, 0)
    if (count > 1) this.findPage(pagesRef!, count - 1)
    this.checkLinearization(count, first)
    return count
  }

  // --- cross-reference ---------------------------------------------------------------------------------------------

  /** Reads every cross-reference section from the last one back; the newest trailer. */
  private readCrossReference(): Dict {
    const tail = Math.max(0, this.b.length - 1024)
    const at = this.b.lastIndexOf("startxref", undefined, "latin1")
    if (at < tail) unsure()
    this.p = at + 9
    let offset: number | undefined = integer(this.next())
    let newest: Dict | undefined
    const seen = new Set<number>()
    while (offset !== undefined) {
      if (seen.has(offset) || seen.size >= MAX_SECTIONS) unsure()
      seen.add(offset)
      const trailer = this.readSection(offset)
      newest ??= trailer
      const prev = trailer.get("Prev")
      offset = prev === undefined ? undefined : integer(prev)
    }
    return newest!
  }

  /** One section (a table with its trailer, or a stream); entries already known from a newer one are kept. */
  private readSection(offset: number): Dict {
    if (offset < 0 || offset >= this.b.length) unsure()
    this.p = offset
    this.skipWhite()
    if (this.b.toString("latin1", this.p, this.p + 4) !== "xref") return this.readStreamSection(offset)
    this.p += 4
    const runs: Array<Run> = []
    for (;;) {
      this.skipWhite()
      if (this.b.toString("latin1", this.p, this.p + 7) === "trailer") break
      const start = integer(this.next())
      const count = integer(this.next())
      if (start < 0 || count < 0 || count > this.b.length / 20) unsure()
      this.skipWhite()
      // the first and the last entry in the standard layout: the ones between are read when needed
      const at = this.p
      if (count > 0 && !(this.isStandardEntry(at) && this.isStandardEntry(at + (count - 1) * 20))) unsure()
      runs.push({ start, count, at })
      this.p = at + count * 20
    }
    this.sections.push({ kind: "table", runs })
    this.p += 7
    const trailer = this.next()
    if (!isDict(trailer)) return unsure()
    // a hybrid file: the stream's entries come before the older sections'
    const stream = trailer.get("XRefStm")
    if (stream !== undefined) this.readStreamSection(integer(stream))
    return trailer
  }

  private readStreamSection(offset: number): Dict {
    const stream = this.objectAt(offset, undefined)
    if (!isStream(stream) || !isName(stream.dict.get("Type"), "XRef")) return unsure()
    const data = this.streamData(stream)
    const widths = stream.dict.get("W")
    if (!Array.isArray(widths) || widths.length !== 3) return unsure()
    const [w0, w1, w2] = (widths as ReadonlyArray<Obj>).map(integer) as [number, number, number]
    if (w0 > 4 || w1 > 8 || w2 > 8 || w1 === 0) unsure()
    const index = stream.dict.get("Index") ?? [0, integer(stream.dict.get("Size"))]
    if (!Array.isArray(index) || index.length % 2 !== 0) return unsure()
    const rowBytes = w0 + w1 + w2
    const entries = new Map<number, Entry>()
    const add = (num: number, entry: Entry) => {
      if (!entries.has(num)) entries.set(num, entry)
    }
    this.sections.push({ kind: "entries", entries })
    let at = 0
    for (let s = 0; s < index.length; s += 2) {
      const first = integer(index[s])
      const count = integer(index[s + 1])
      for (let i = 0; i < count; i++) {
        if (at + rowBytes > data.length) unsure()
        const type = w0 === 0 ? 1 : readUint(data, at, w0)
        const a = readUint(data, at + w0, w1)
        const b = readUint(data, at + w0 + w1, w2)
        at += rowBytes
        if (type === 0) add(first + i, { type: 0, a: 0, b: 0 })
        else if (type === 1 || type === 2) add(first + i, { type, a, b })
        // other types are reserved: such objects read as null, which pdf.js may treat otherwise
        else unsure()
      }
    }
    return stream.dict
  }

  private isStandardEntry(at: number): boolean {
    return at + 20 <= this.b.length && standardEntry.test(this.b.toString("latin1", at, at + 20))
  }

  /** The newest section's entry for `num`. */
  private entry(num: number): Entry | undefined {
    for (const section of this.sections) {
      if (section.kind === "entries") {
        const entry = section.entries.get(num)
        if (entry !== undefined) return entry
        continue
      }
      const run = section.runs.find((r) => num >= r.start && num < r.start + r.count)
      if (run === undefined) continue
      const at = run.at + (num - run.start) * 20
      if (!this.isStandardEntry(at)) return unsure()
      if (this.b[at + 17] !== 0x6e) return { type: 0, a: 0, b: 0 }
      const offset = Number(this.b.toString("latin1", at, at + 10))
      return { type: 1, a: offset, b: Number(this.b.toString("latin1", at + 11, at + 16)) }
    }
    return undefined
  }

  // --- objects -----------------------------------------------------------------------------------------------------

  private deref(o: Obj | undefined, depth = 0): Obj | undefined {
    if (!(o instanceof Ref)) return o
    if (depth > MAX_DEPTH) unsure()
    return this.deref(this.fetch(o), depth + 1)
  }

  private fetch(ref: Ref): Obj {
    const entry = this.entry(ref.num) ?? unsure()
    if (entry.type === 1) {
      if (entry.b !== ref.gen) unsure()
      return this.objectAt(entry.a, ref.num)
    }
    if (entry.type === 2 && ref.gen === 0) return this.compressed(entry.a, entry.b, ref.num)
    return unsure()
  }

  /** The object `num G obj ... endobj` at `offset` (any number when `num` is undefined), a stream with its data. */
  private objectAt(offset: number, num: number | undefined): Obj {
    if (offset <= 0 || offset >= this.b.length) unsure()
    this.p = offset
    const n = integer(this.next())
    integer(this.next())
    if ((num !== undefined && n !== num) || this.keyword() !== "obj") unsure()
    const value = this.next()
    if (!isDict(value)) return value
    const save = this.p
    this.skipWhite()
    if (this.b.toString("latin1", this.p, this.p + 6) !== "stream") {
      this.p = save
      return value
    }
    this.p += 6
    // the keyword's end of line: CRLF or LF (a lone CR is tolerated, as pdf.js does)
    if (this.b[this.p] === 0x0d) this.p++
    if (this.b[this.p] === 0x0a) this.p++
    return { dict: value, start: this.p }
  }

  /** Object `index` of object stream `streamNum`. */
  private compressed(streamNum: number, index: number, num: number): Obj {
    let objects = this.objectStreams.get(streamNum)
    if (objects === undefined) {
      const stream = this.fetch(new Ref(streamNum, 0))
      if (!isStream(stream) || !isName(stream.dict.get("Type"), "ObjStm")) return unsure()
      const data = this.streamData(stream)
      const n = integer(stream.dict.get("N"))
      const first = integer(stream.dict.get("First"))
      const header = new Reader(data)
      const nums: Array<number> = []
      const offsets: Array<number> = []
      for (let i = 0; i < n; i++) {
        nums.push(integer(header.next()))
        offsets.push(first + integer(header.next()))
      }
      objects = { data, nums, offsets }
      this.objectStreams.set(streamNum, objects)
    }
    if (objects.nums[index] !== num) unsure()
    const reader = new Reader(objects.data)
    reader.p = objects.offsets[index]!
    return reader.next()
  }

  /** A stream's decoded bytes: unfiltered or Flate, with a PNG predictor. */
  private streamData(stream: PdfStream): Buffer {
    const length = integer(this.deref(stream.dict.get("Length")))
    const end = stream.start + length
    if (length < 0 || end > this.b.length) unsure()
    const raw = this.b.subarray(stream.start, end)
    const filter = stream.dict.get("Filter")
    const flate = isName(filter, "FlateDecode") ||
      (Array.isArray(filter) && filter.length === 1 && isName(filter[0], "FlateDecode"))
    if (filter !== undefined && !flate) unsure()
    const decoded = flate ? inflateSync(raw, { maxOutputLength: MAX_INFLATED_BYTES - this.inflated }) : raw
    this.inflated += decoded.length
    const params = this.deref(stream.dict.get("DecodeParms"))
    if (params === undefined || params === null) return decoded
    const parms = isDict(params) ? params : Array.isArray(params) && isDict(params[0]) ? params[0] : unsure()
    const predictor = parms.get("Predictor") === undefined ? 1 : integer(parms.get("Predictor"))
    if (predictor === 1) return decoded
    if (predictor < 10) unsure()
    const colors = parms.get("Colors") === undefined ? 1 : integer(parms.get("Colors"))
    const bits = parms.get("BitsPerComponent") === undefined ? 8 : integer(parms.get("BitsPerComponent"))
    const columns = parms.get("Columns") === undefined ? 1 : integer(parms.get("Columns"))
    if (bits !== 8 || colors < 1 || colors > 4 || columns < 1) unsure()
    return unPng(decoded, columns * colors, colors)
  }

  // --- page tree ---------------------------------------------------------------------------------------------------

  /** The page at `index`, walked as pdf.js walks it (skipping whole subtrees by their /Count); its reference. */
  private findPage(root: Obj, index: number): Obj {
    const stack: Array<Obj> = [root]
    const visited = new Set<number>()
    let current = 0
    let nodes = 0
    while (stack.length > 0) {
      if (++nodes > MAX_PAGE_NODES) unsure()
      const ref = stack.pop()!
      if (ref instanceof Ref) {
        if (visited.has(ref.num)) unsure()
        visited.add(ref.num)
      }
      const node = this.deref(ref)
      if (!isDict(node)) return unsure()
      const type = this.deref(node.get("Type"))
      if (isName(type, "Page") || !node.has("Kids")) {
        // pdf.js also takes a node without /Kids for a page; this reader wants it said
        if (!isName(type, "Page")) unsure()
        if (current === index) return ref
        current++
        continue
      }
      const count = integer(this.deref(node.get("Count")))
      if (count < 0) unsure()
      if (index >= current + count) {
        current += count
        continue
      }
      const kids = this.deref(node.get("Kids"))
      if (!Array.isArray(kids)) return unsure()
      for (let i = kids.length - 1; i >= 0; i--) stack.push((kids as ReadonlyArray<Obj>)[i]!)
    }
    return unsure()
  }

  /**
   * pdf.js counts a linearized file's pages by its linearization dictionary (when that is valid), and finds its first
   * page there: both must agree with the page tree.
   */
  private checkLinearization(count: number, firstPage: Obj) {
    const head = this.b.subarray(0, 1024)
    if (head.indexOf("/Linearized", 0, "latin1") < 0) return
    const start = head.indexOf("%PDF-", 0, "latin1")
    this.p = start + 5
    this.skipToken()
    const n = this.next()
    if (typeof n !== "number") unsure()
    integer(this.next())
    if (this.keyword() !== "obj") unsure()
    const dict = this.next()
    if (!isDict(dict)) return unsure()
    const length = dict.get("L")
    // pdf.js ignores the linearization of a file changed since (another length), and counts by the page tree
    if (typeof length === "number" && length !== this.b.length) return
    const pageFirst = dict.get("P") ?? 0
    if (length !== this.b.length || dict.get("N") !== count || pageFirst !== 0) unsure()
    if (!(firstPage instanceof Ref) || dict.get("O") !== firstPage.num) unsure()
  }

  // --- tokens ------------------------------------------------------------------------------------------------------

  private skipWhite() {
    const b = this.b
    for (;;) {
      const c = b[this.p]
      if (c === undefined) return
      if (isWhite(c)) this.p++
      else if (c === 0x25) { // % comment, to the end of the line
        while (this.p < b.length && b[this.p] !== 0x0a && b[this.p] !== 0x0d) this.p++
      } else return
    }
  }

  /** Skips one run of regular characters (the version after `%PDF-`). */
  private skipToken() {
    while (isRegular(this.b[this.p])) this.p++
  }

  private keyword(): string {
    this.skipWhite()
    const start = this.p
    while (isRegular(this.b[this.p])) this.p++
    return this.b.toString("latin1", start, this.p)
  }

  /** The next object: a number (or a reference `n g R`), a name, a string, an array, a dictionary, a keyword. */
  next(depth = 0): Obj {
    if (depth > MAX_DEPTH) unsure()
    this.skipWhite()
    const b = this.b
    const c = b[this.p] ?? unsure()
    if (c === 0x2f) return this.name()
    if (c === 0x3c) {
      if (b[this.p + 1] === 0x3c) return this.dict(depth)
      const end = b.indexOf(0x3e, this.p)
      if (end < 0) unsure()
      this.p = end + 1
      return STRING
    }
    if (c === 0x5b) {
      this.p++
      const items: Array<Obj> = []
      for (;;) {
        this.skipWhite()
        if (b[this.p] === 0x5d) {
          this.p++
          return items
        }
        items.push(this.next(depth + 1))
      }
    }
    if (c === 0x28) return this.literalString()
    if (c === 0x2b || c === 0x2d || c === 0x2e || (c >= 0x30 && c <= 0x39)) return this.number()
    const word = this.keyword()
    if (word === "true") return true
    if (word === "false") return false
    if (word === "null") return null
    return unsure()
  }

  private dict(depth: number): Dict {
    this.p += 2
    const dict: Dict = new Map()
    for (;;) {
      this.skipWhite()
      if (this.b[this.p] === 0x3e && this.b[this.p + 1] === 0x3e) {
        this.p += 2
        return dict
      }
      const key = this.next(depth + 1)
      if (!(key instanceof Name)) return unsure()
      const value = this.next(depth + 1)
      // pdf.js keeps the first of a repeated key
      if (!dict.has(key.name)) dict.set(key.name, value)
    }
  }

  private name(): Name {
    const start = ++this.p
    while (isRegular(this.b[this.p])) this.p++
    const raw = this.b.toString("latin1", start, this.p)
    const decoded = (_: string, hex: string) => String.fromCharCode(parseInt(hex, 16))
    return new Name(raw.includes("#") ? raw.replace(/#([0-9a-fA-F]{2})/g, decoded) : raw)
  }

  private literalString(): typeof STRING {
    const b = this.b
    let nesting = 0
    for (;;) {
      const c = b[this.p++] ?? unsure()
      if (c === 0x5c) this.p++ // backslash: the next byte is escaped
      else if (c === 0x28) nesting++
      else if (c === 0x29 && --nesting === 0) return STRING
    }
  }

  private number(): Obj {
    const start = this.p
    while (isRegular(this.b[this.p])) this.p++
    const text = this.b.toString("latin1", start, this.p)
    const value = Number(text)
    if (!Number.isFinite(value)) unsure()
    if (!/^\d+$/.test(text)) return value
    // `n g R`: look ahead for the generation and the R
    const save = this.p
    this.skipWhite()
    const genStart = this.p
    while (this.b[this.p]! >= 0x30 && this.b[this.p]! <= 0x39) this.p++
    if (this.p > genStart && !isRegular(this.b[this.p])) {
      const gen = Number(this.b.toString("latin1", genStart, this.p))
      this.skipWhite()
      if (this.b[this.p] === 0x52 && !isRegular(this.b[this.p + 1])) {
        this.p++
        return new Ref(value, gen)
      }
    }
    this.p = save
    return value
  }
}

const readUint = (data: Buffer, at: number, width: number): number => {
  let n = 0
  for (let i = 0; i < width; i++) n = n * 256 + data[at + i]!
  return n
}

/** Undoes the PNG predictors (one filter byte per row) of rows of `rowBytes` bytes, `pixelBytes` per pixel. */
const unPng = (data: Buffer, rowBytes: number, pixelBytes: number): Buffer => {
  const rows = Math.floor(data.length / (rowBytes + 1))
  const out = Buffer.alloc(rows * rowBytes)
  for (let r = 0; r < rows; r++) {
    const filter = data[r * (rowBytes + 1)]
    const src = r * (rowBytes + 1) + 1
    const dst = r * rowBytes
    for (let i = 0; i < rowBytes; i++) {
      const x = data[src + i]!
      const left = i >= pixelBytes ? out[dst + i - pixelBytes]! : 0
      const up = r > 0 ? out[dst - rowBytes + i]! : 0
      const upLeft = r > 0 && i >= pixelBytes ? out[dst - rowBytes + i - pixelBytes]! : 0
      switch (filter) {
        case 0:
          out[dst + i] = x
          break
        case 1:
          out[dst + i] = x + left
          break
        case 2:
          out[dst + i] = x + up
          break
        case 3:
          out[dst + i] = x + ((left + up) >> 1)
          break
        case 4:
          out[dst + i] = x + paeth(left, up, upLeft)
          break
        default:
          return unsure()
      }
    }
  }
  return out
}

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}
