/**
 * LayoutPdf: the original PDF with the layout drawn on it (the job's `layout_pdf`), with pdf-lib. Every page keeps
 * its original vector content (no raster); on a page with a result, each block's box is drawn as a rectangle outline
 * in its type's colour with a light translucent fill, and labelled above its top-left corner (inside the box when
 * there is no room above) with its reading-order number, from 1 within the page, and its type, in Helvetica. Pages
 * without a result are left as they were. The output has the input's pages, in order, with the same boxes, /Rotate
 * and size.
 *
 * Coordinates. A result's boxes are in points with a top-left origin on the page as displayed: pdf.js's viewport
 * at scale 1, which starts at the corner of the crop box (intersected with the media box), applies /Rotate and
 * /UserUnit (see PdfEngine). The page's geometry is read here from the same entries, the way pdf.js reads them
 * (inherited /MediaBox, default US Letter; /CropBox, default the media box; /Rotate normalised to 0, 90, 180 or
 * 270; /UserUnit), the viewport's matrix is built as pdf.js builds it, and each box's corners are mapped through its
 * inverse to the page's default user space, where the drawing goes: boxes land on the same marks whatever the
 * rotation or the origin of the crop box. Labels are turned with the page so they read upright as displayed. A
 * result whose width or height differs from the page's displayed size (a result made on another size) has its boxes
 * scaled to the page. Drawing goes in a content stream appended to the page; pdf-lib first wraps the page's own
 * streams in `q`/`Q`, so nothing the page leaves in its graphics state (a transform, a clip) moves the drawing.
 *
 * An encrypted PDF that opens without a password (owner password only: permissions) is supported: pdf-lib keeps its
 * objects as they are (still encrypted) and the streams drawn here are encrypted with the document's key (standard
 * security handler, revisions 2 to 6, RC4 or AES), so readers decrypt everything alike. One that needs a password,
 * or a security handler other than the standard one, is refused (`LayoutPdfError`, reason "encrypted").
 *
 * pdf-lib parses on the main thread in slices (it yields every 100 objects), so a large file does not stop the event
 * loop for long; it does not decompress page content, so a decompression bomb costs nothing here. A file pdf-lib
 * cannot read (some damaged files pdf.js repairs; object streams inside an encrypted file) is a `LayoutPdfError`
 * with reason "unreadable".
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto"
import {
  beginText,
  endText,
  fillAndStroke,
  PDFArray,
  PDFDict,
  PDFDocument,
  type PDFFont,
  PDFHexString,
  PDFName,
  PDFNumber,
  type PDFObject,
  type PDFPage,
  PDFRawStream,
  type PDFRef,
  PDFStream,
  PDFString,
  popGraphicsState,
  pushGraphicsState,
  rectangle,
  setFillingRgbColor,
  setFontAndSize,
  setGraphicsState,
  setLineWidth,
  setStrokingRgbColor,
  setTextMatrix,
  showText,
  StandardFonts
} from "pdf-lib"
import { Effect, Schema } from "effect"
import { asClause } from "../internal/ErrorText.js"

/** A block to draw: its type (any string) and its box in displayed points, top-left origin. */
export interface LayoutBlock {
  readonly type: string
  /** Left, top, right, bottom, in points from the top-left corner of the displayed page. */
  readonly bbox: readonly [number, number, number, number]
}

/** The layout of one page: a PageResult has this shape. */
export interface LayoutPage {
  /** From 0. */
  readonly page: number
  /** The displayed page size in points, which the boxes are relative to. */
  readonly width: number
  readonly height: number
  /** In reading order. */
  readonly blocks: ReadonlyArray<LayoutBlock>
}

/** Why the layout PDF could not be made. */
export class LayoutPdfError extends Schema.TaggedError<LayoutPdfError>()("LayoutPdfError", {
  /**
   * "unreadable": pdf-lib cannot read the file; "encrypted": it needs a password, or uses a security handler other
   * than the standard one; "pages": a result names a page the file does not have; "failed": drawing or writing
   * failed.
   */
  reason: Schema.Literal("unreadable", "encrypted", "pages", "failed"),
  detail: Schema.String
}) {
  override get message() {
    switch (this.reason) {
      case "unreadable":
        return `The layout PDF could not be made: the PDF could not be read for drawing (${this.detail}).`
      case "encrypted":
        return `The layout PDF could not be made: the PDF is encrypted (${this.detail}).`
      case "pages":
        return `The layout PDF could not be made: ${this.detail}.`
      case "failed":
        return `The layout PDF could not be made: ${this.detail}.`
    }
  }
}

/** An RGB colour, each channel 0 to 1. */
export type Rgb = readonly [r: number, g: number, b: number]

/** The colour of each known block type; today's "heading" shares section_header's. */
export const typeColours: Readonly<Record<string, Rgb>> = {
  title: [0.80, 0.07, 0.07],
  section_header: [0.93, 0.45, 0.00],
  heading: [0.93, 0.45, 0.00],
  paragraph: [0.10, 0.35, 0.90],
  text: [0.10, 0.35, 0.90],
  list_item: [0.00, 0.62, 0.62],
  table: [0.10, 0.62, 0.18],
  picture: [0.58, 0.22, 0.80],
  caption: [0.72, 0.55, 0.00],
  formula: [0.88, 0.10, 0.60],
  code: [0.40, 0.45, 0.05],
  page_header: [0.40, 0.40, 0.70],
  page_footer: [0.40, 0.40, 0.70],
  page_number: [0.60, 0.35, 0.20],
  footnote: [0.30, 0.55, 0.40]
}

/** The colour of a type no one told us about. */
export const neutralColour: Rgb = [0.5, 0.5, 0.5]

/** A block type's colour: its own, or the neutral grey for a type not in `typeColours`. */
export const colourOf = (type: string): Rgb => Object.hasOwn(typeColours, type) ? typeColours[type]! : neutralColour

/** The opacity of a box's fill. */
const FILL_OPACITY = 0.12
/** The width of a box's outline, in displayed points. */
const LINE_WIDTH = 0.8
/** The size of a label, in displayed points. */
const LABEL_SIZE = 6
/** The gap between a label's baseline and the box's top edge, in displayed points. */
const LABEL_GAP = 1.5
/** The longest type shown in a label. */
const LABEL_TYPE_LENGTH = 40

/**
 * The original PDF with each page's blocks drawn (see the module's doc comment). `pages` need not cover every page,
 * nor be in order; two results for one page: the later one is drawn.
 */
export const layoutPdf = (
  original: Uint8Array,
  pages: ReadonlyArray<LayoutPage>
): Effect.Effect<Uint8Array, LayoutPdfError> =>
  Effect.gen(function*() {
    const doc = yield* Effect.tryPromise({
      try: () => PDFDocument.load(original, { ignoreEncryption: true, updateMetadata: false }),
      catch: (e) => new LayoutPdfError({ reason: "unreadable", detail: asClause(e) })
    })
    const encryption = doc.isEncrypted ? yield* Effect.try({
      try: () => standardEncryption(doc),
      catch: (e) => e instanceof LayoutPdfError ? e : new LayoutPdfError({ reason: "encrypted", detail: asClause(e) })
    }) : undefined
    const documentPages = yield* Effect.try({
      try: () => doc.getPages(),
      catch: (e) => new LayoutPdfError({ reason: "unreadable", detail: asClause(e) })
    })
    const byPage = new Map<number, LayoutPage>()
    for (const page of pages) {
      if (!Number.isInteger(page.page) || page.page < 0 || page.page >= documentPages.length) {
        return yield* new LayoutPdfError({
          reason: "pages",
          detail: `a result is for page ${page.page + 1} but the PDF has ${documentPages.length} pages as read ` +
            `for drawing`
        })
      }
      byPage.set(page.page, page)
    }
    const firstNew = doc.context.largestObjectNumber + 1
    yield* Effect.try({
      try: () => {
        const font = doc.embedStandardFont(StandardFonts.Helvetica)
        const fill = doc.context.register(doc.context.obj({ Type: "ExtGState", ca: FILL_OPACITY, CA: 1 }))
        for (const [index, result] of byPage) drawPage(documentPages[index]!, result, font, fill)
      },
      catch: (e) => new LayoutPdfError({ reason: "failed", detail: `drawing failed: ${asClause(e)}` })
    })
    return yield* Effect.tryPromise({
      try: async () => {
        if (encryption !== undefined) {
          // fonts are written when saving: write them now, so every object made here exists to be encrypted
          await doc.flush()
          encryptNewStreams(doc, firstNew, encryption)
        }
        // object streams would hold an encrypted file's objects unencrypted; form fields keep their appearance
        return await doc.save({
          useObjectStreams: false,
          addDefaultPage: false,
          updateFieldAppearances: false,
          objectsPerTick: 200
        })
      },
      catch: (e) => new LayoutPdfError({ reason: "failed", detail: `writing failed: ${asClause(e)}` })
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// Geometry: the page as pdf.js displays it.

/** An affine transform [a, b, c, d, e, f]: (x, y) -> (a x + c y + e, b x + d y + f). */
type Matrix = readonly [number, number, number, number, number, number]

/** A page's displayed geometry. */
export interface PageGeometry {
  /** The visible area in user space: the crop box within the media box, normalised (x0 < x1, y0 < y1). */
  readonly view: readonly [number, number, number, number]
  /** /Rotate, normalised as pdf.js does: 0, 90, 180 or 270 degrees clockwise. */
  readonly rotation: 0 | 90 | 180 | 270
  /** /UserUnit: the size of a user space unit in points (1 unless the page says otherwise). */
  readonly userUnit: number
  /** The displayed size in points. */
  readonly width: number
  readonly height: number
  /** User space to displayed points, top-left origin: pdf.js's `page.getViewport({ scale: 1 }).transform`. */
  readonly transform: Matrix
}

const LETTER: readonly [number, number, number, number] = [0, 0, 612, 792]

/** The displayed geometry of a page, read as pdf.js reads it. */
export const pageGeometry = (page: PDFPage): PageGeometry => {
  const mediaBox = boxEntry(page.node, "MediaBox") ?? LETTER
  const cropBox = boxEntry(page.node, "CropBox") ?? mediaBox
  let view = mediaBox
  if (cropBox.some((v, i) => v !== mediaBox[i])) {
    const box = intersect(cropBox, mediaBox)
    if (box !== undefined && box[2] - box[0] > 0 && box[3] - box[1] > 0) view = box
  }
  const rotate = numberOf(page.node, inherited(page.node, "Rotate")) ?? 0
  const rotation = (rotate % 90 !== 0 ? 0 : ((rotate % 360) + 360) % 360) as 0 | 90 | 180 | 270
  const unit = numberOf(page.node, page.node.get(PDFName.of("UserUnit")))
  const userUnit = unit !== undefined && unit > 0 ? unit : 1
  return { view, rotation, userUnit, ...viewport(view, rotation, userUnit) }
}

/** pdf.js's PageViewport at scale 1: its size and transform. */
const viewport = (
  view: readonly [number, number, number, number],
  rotation: 0 | 90 | 180 | 270,
  scale: number
): { width: number; height: number; transform: Matrix } => {
  const [a, b, c, d] = ({ 0: [1, 0, 0, -1], 90: [0, 1, 1, 0], 180: [-1, 0, 0, 1], 270: [0, -1, -1, 0] } as const)[
    rotation
  ]
  const centerX = (view[2] + view[0]) / 2
  const centerY = (view[3] + view[1]) / 2
  const sideways = a === 0
  const offsetX = Math.abs((sideways ? centerY - view[1] : centerX - view[0])) * scale
  const offsetY = Math.abs((sideways ? centerX - view[0] : centerY - view[1])) * scale
  const width = (sideways ? view[3] - view[1] : view[2] - view[0]) * scale
  const height = (sideways ? view[2] - view[0] : view[3] - view[1]) * scale
  return {
    width,
    height,
    transform: [
      a * scale,
      b * scale,
      c * scale,
      d * scale,
      offsetX - a * scale * centerX - c * scale * centerY,
      offsetY - b * scale * centerX - d * scale * centerY
    ]
  }
}

const invert = ([a, b, c, d, e, f]: Matrix): Matrix => {
  const det = a * d - b * c
  return [d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det]
}

const apply = ([a, b, c, d, e, f]: Matrix, x: number, y: number): readonly [number, number] => [
  a * x + c * y + e,
  b * x + d * y + f
]

const intersect = (
  r1: readonly [number, number, number, number],
  r2: readonly [number, number, number, number]
): readonly [number, number, number, number] | undefined => {
  const x0 = Math.max(r1[0], r2[0])
  const x1 = Math.min(r1[2], r2[2])
  const y0 = Math.max(r1[1], r2[1])
  const y1 = Math.min(r1[3], r2[3])
  return x0 > x1 || y0 > y1 ? undefined : [x0, y0, x1, y1]
}

/** How far up the page tree an inherited entry is looked for (pdf.js's limit too): a cycle ends there. */
const MAX_TREE_DEPTH = 100

/** A page entry, from the page or its nearest ancestor that has it. */
const inherited = (node: PDFDict, key: string): PDFObject | undefined => {
  const name = PDFName.of(key)
  let dict: PDFDict | undefined = node
  for (let depth = 0; dict !== undefined && depth < MAX_TREE_DEPTH; depth++) {
    const value = dict.get(name)
    if (value !== undefined) return value
    const parent: PDFObject | undefined = dict.context.lookup(dict.get(PDFName.of("Parent")))
    dict = parent instanceof PDFDict ? parent : undefined
  }
  return undefined
}

const numberOf = (node: PDFDict, value: PDFObject | undefined): number | undefined => {
  const resolved = node.context.lookup(value)
  return resolved instanceof PDFNumber && Number.isFinite(resolved.asNumber()) ? resolved.asNumber() : undefined
}

/** An inherited box entry, normalised; absent when missing, malformed or empty (pdf.js then falls back too). */
const boxEntry = (node: PDFDict, key: string): readonly [number, number, number, number] | undefined => {
  const value = node.context.lookup(inherited(node, key))
  if (!(value instanceof PDFArray) || value.size() !== 4) return undefined
  const numbers = value.asArray().map((item) => numberOf(node, item))
  if (numbers.some((n) => n === undefined)) return undefined
  const [x0, y0, x1, y1] = numbers as [number, number, number, number]
  const box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)] as const
  return box[2] - box[0] > 0 && box[3] - box[1] > 0 ? box : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Drawing.

/** Draws a page's blocks: a rectangle (translucent fill, outline) and a label each, in the page's user space. */
const drawPage = (page: PDFPage, result: LayoutPage, font: PDFFont, fill: PDFRef) => {
  const geometry = pageGeometry(page)
  const toUser = invert(geometry.transform)
  const sx = result.width > 0 ? geometry.width / result.width : 1
  const sy = result.height > 0 ? geometry.height / result.height : 1
  const unit = geometry.userUnit
  const boxes = result.blocks.flatMap((block, index) => {
    const box = displayedBox(block.bbox, sx, sy, geometry)
    return box === undefined ? [] : [{ box, type: block.type, number: index + 1 }]
  })
  if (boxes.length === 0) return
  const fillName = page.node.newExtGState("LayoutFill", fill)
  const fontName = page.node.newFontDictionary("LayoutHelv", font.ref)
  const radians = (geometry.rotation * Math.PI) / 180
  const [cos, sin] = [Math.round(Math.cos(radians)), Math.round(Math.sin(radians))]
  for (const { box: [x1, y1, x2, y2], type, number } of boxes) {
    const colour = colourOf(type)
    const [ux1, uy1] = apply(toUser, x1, y1)
    const [ux2, uy2] = apply(toUser, x2, y2)
    const [left, bottom] = [Math.min(ux1, ux2), Math.min(uy1, uy2)]
    page.pushOperators(
      pushGraphicsState(),
      setGraphicsState(fillName),
      setFillingRgbColor(...colour),
      setStrokingRgbColor(...colour),
      setLineWidth(LINE_WIDTH / unit),
      rectangle(left, bottom, Math.abs(ux2 - ux1), Math.abs(uy2 - uy1)),
      fillAndStroke(),
      popGraphicsState()
    )
    const label = labelText(number, type)
    const labelWidth = font.widthOfTextAtSize(label, LABEL_SIZE)
    const lx = Math.max(0, Math.min(x1, geometry.width - labelWidth))
    const ly = y1 - LABEL_GAP - LABEL_SIZE * 0.75 >= 0 ? y1 - LABEL_GAP : Math.min(y2, y1 + LABEL_SIZE)
    const [ox, oy] = apply(toUser, lx, ly)
    const size = LABEL_SIZE / unit
    page.pushOperators(
      beginText(),
      setFillingRgbColor(...colour.map((c) => c * 0.7) as unknown as Rgb),
      setFontAndSize(fontName, size),
      // upright as displayed: the text turns with the page's /Rotate (counter-clockwise in user space)
      setTextMatrix(cos, sin, -sin, cos, ox, oy),
      showText(font.encodeText(label)),
      endText()
    )
  }
}

/** A block's box in displayed points, scaled to the page and kept on it; absent when it is not a finite box. */
const displayedBox = (
  bbox: readonly [number, number, number, number],
  sx: number,
  sy: number,
  geometry: PageGeometry
): readonly [number, number, number, number] | undefined => {
  if (bbox.length !== 4 || !bbox.every(Number.isFinite)) return undefined
  const clampX = (v: number) => Math.min(geometry.width, Math.max(0, v * sx))
  const clampY = (v: number) => Math.min(geometry.height, Math.max(0, v * sy))
  const [x1, x2] = [clampX(Math.min(bbox[0], bbox[2])), clampX(Math.max(bbox[0], bbox[2]))]
  const [y1, y2] = [clampY(Math.min(bbox[1], bbox[3])), clampY(Math.max(bbox[1], bbox[3]))]
  return [x1, y1, x2, y2]
}

/** "3 paragraph": the block's number and type, printable ASCII only (Helvetica's WinAnsi has no more). */
const labelText = (number: number, type: string): string => {
  const ascii = type.replace(/[^\x20-\x7e]/g, "?").slice(0, LABEL_TYPE_LENGTH)
  return `${number} ${ascii}`.trim()
}

// ---------------------------------------------------------------------------------------------------------------
// Encryption: the streams drawn here, encrypted as the file's other streams are (PDF 32000-2, 7.6).

/** What encrypting a new stream needs. */
interface Encryption {
  /** The file encryption key. */
  readonly key: Uint8Array
  /** How streams are encrypted: RC4, AES-128 (AESV2), AES-256 (AESV3), or not at all (Identity). */
  readonly method: "rc4" | "aesv2" | "aesv3" | "identity"
}

const PASSWORD_PADDING = Uint8Array.from([
  0x28, 0xbf, 0x4e, 0x5e, 0x4e, 0x75, 0x8a, 0x41, 0x64, 0x00, 0x4e, 0x56, 0xff, 0xfa, 0x01, 0x08,
  0x2e, 0x2e, 0x00, 0xb6, 0xd0, 0x68, 0x3e, 0x80, 0x2f, 0x0c, 0xa9, 0xfe, 0x64, 0x53, 0x69, 0x7a
])

/**
 * The file key of a file encrypted by the standard security handler, opened with the empty user password (as
 * pdf.js opened it to read its pages). Fails with reason "encrypted" when that password is not the user password or
 * the handler is not the standard one.
 */
const standardEncryption = (doc: PDFDocument): Encryption => {
  const context = doc.context
  const dict = context.lookup(context.trailerInfo.Encrypt)
  const refuse = (detail: string) => new LayoutPdfError({ reason: "encrypted", detail })
  if (!(dict instanceof PDFDict)) throw refuse("its /Encrypt dictionary is unreadable")
  const name = (value: PDFObject | undefined) => {
    const resolved = context.lookup(value)
    return resolved instanceof PDFName ? resolved.decodeText() : undefined
  }
  const num = (key: string) => numberOf(dict, dict.get(PDFName.of(key)))
  const bytes = (key: string) => stringBytes(context.lookup(dict.get(PDFName.of(key))))
  if (name(dict.get(PDFName.of("Filter"))) !== "Standard") throw refuse("not by the standard security handler")
  const v = num("V") ?? 0
  const r = num("R") ?? 0
  const o = bytes("O")
  const u = bytes("U")
  if (o === undefined || u === undefined) throw refuse("its /O or /U entry is missing")
  // the method streams use: the crypt filter /StmF names (V 4 and 5), RC4 before that
  let method: Encryption["method"] = "rc4"
  let filterLength: number | undefined
  if (v >= 4) {
    const stmf = name(dict.get(PDFName.of("StmF"))) ?? "Identity"
    if (stmf === "Identity") {
      method = "identity"
    } else {
      const filters = context.lookup(dict.get(PDFName.of("CF")))
      const filter = filters instanceof PDFDict ? context.lookup(filters.get(PDFName.of(stmf))) : undefined
      const cfm = filter instanceof PDFDict ? name(filter.get(PDFName.of("CFM"))) : undefined
      filterLength = filter instanceof PDFDict ? numberOf(dict, filter.get(PDFName.of("Length"))) : undefined
      method = cfm === "AESV2" ? "aesv2" : cfm === "AESV3" ? "aesv3" : cfm === "V2" ? "rc4" : "identity"
      if (cfm !== undefined && !["AESV2", "AESV3", "V2", "None"].includes(cfm)) {
        throw refuse(`its crypt filter /${cfm} is not supported`)
      }
    }
  }
  if (r >= 5) {
    // AES-256: the user key checks the empty password against /U, then unwraps the file key from /UE
    const ue = bytes("UE")
    if (u.length < 48 || ue === undefined || ue.length < 32) throw refuse("its /U or /UE entry is malformed")
    const check = hashR6(r, new Uint8Array(0), u.subarray(32, 40), new Uint8Array(0))
    if (!equalBytes(check, u.subarray(0, 32))) throw refuse("it needs a password to open")
    const intermediate = hashR6(r, new Uint8Array(0), u.subarray(40, 48), new Uint8Array(0))
    const decipher = createDecipheriv("aes-256-cbc", intermediate, Buffer.alloc(16))
    decipher.setAutoPadding(false)
    const key = new Uint8Array(Buffer.concat([decipher.update(ue.subarray(0, 32)), decipher.final()]))
    return { key, method: method === "identity" ? "identity" : "aesv3" }
  }
  if (r < 2 || r > 4) throw refuse(`its revision ${r} is not supported`)
  // RC4 and AES-128: Algorithm 2 with the empty password, checked against /U (Algorithms 4 and 5)
  // the key's length as pdf.js reads it: /Length in bits; without it, 40 bits before V 4, else the crypt filter's
  // /Length (bytes when under 40) or 128 bits
  const filterBits = filterLength !== undefined && filterLength > 0 ? filterLength : 128
  const bits = num("Length") || (v < 4 ? 40 : filterBits < 40 ? filterBits * 8 : filterBits)
  const length = Math.max(5, Math.min(16, Math.floor(bits / 8)))
  const id = context.lookup(context.trailerInfo.ID)
  const firstId = id instanceof PDFArray && id.size() > 0 ? stringBytes(context.lookup(id.get(0))) : undefined
  const encryptMetadata = context.lookup(dict.get(PDFName.of("EncryptMetadata")))
  const md5 = createHash("md5").update(PASSWORD_PADDING).update(o.subarray(0, 32))
  const p = num("P") ?? 0
  md5.update(Uint8Array.from([p & 0xff, (p >> 8) & 0xff, (p >> 16) & 0xff, (p >>> 24) & 0xff]))
  md5.update(firstId ?? new Uint8Array(0))
  if (r >= 4 && encryptMetadata !== undefined && String(encryptMetadata) === "false") {
    md5.update(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))
  }
  let key = new Uint8Array(md5.digest()).subarray(0, length)
  const md5Of = (data: Uint8Array) => new Uint8Array(createHash("md5").update(data).digest())
  for (let i = 0; r >= 3 && i < 50; i++) key = md5Of(key).subarray(0, length)
  const valid = r === 2
    ? equalBytes(rc4(key, PASSWORD_PADDING), u.subarray(0, 32))
    : equalBytes(userCheckR3(key, firstId ?? new Uint8Array(0)), u.subarray(0, 16))
  if (!valid) throw refuse("it needs a password to open")
  return { key, method }
}

/** Algorithm 5: the first 16 bytes of /U for revisions 3 and 4. */
const userCheckR3 = (key: Uint8Array, firstId: Uint8Array): Uint8Array => {
  let data = rc4(key, new Uint8Array(createHash("md5").update(PASSWORD_PADDING).update(firstId).digest()))
  for (let i = 1; i <= 19; i++) data = rc4(key.map((b) => b ^ i), data)
  return data
}

/** Algorithm 2.B (revision 6), or plain SHA-256 (revision 5). */
const hashR6 = (r: number, password: Uint8Array, salt: Uint8Array, udata: Uint8Array): Uint8Array => {
  let k = new Uint8Array(createHash("sha256").update(password).update(salt).update(udata).digest())
  if (r < 6) return k
  for (let round = 0;; round++) {
    const unit = Buffer.concat([password, k, udata])
    const k1 = Buffer.concat(Array.from({ length: 64 }, () => unit))
    const cipher = createCipheriv("aes-128-cbc", k.subarray(0, 16), k.subarray(16, 32))
    cipher.setAutoPadding(false)
    const e = Buffer.concat([cipher.update(k1), cipher.final()])
    let sum = 0
    for (let i = 0; i < 16; i++) sum += e[i]!
    k = new Uint8Array(createHash(["sha256", "sha384", "sha512"][sum % 3]!).update(e).digest())
    // as pdf.js: at least 64 rounds, then until E's last byte is at most (rounds done) - 32
    if (round + 1 >= 64 && e[e.length - 1]! <= round + 1 - 32) return k.subarray(0, 32)
  }
}

const rc4 = (key: Uint8Array, data: Uint8Array): Uint8Array => {
  const s = Uint8Array.from({ length: 256 }, (_, i) => i)
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff
    ;[s[i], s[j]] = [s[j]!, s[i]!]
  }
  const out = new Uint8Array(data.length)
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff
    j = (j + s[i]!) & 0xff
    ;[s[i], s[j]] = [s[j]!, s[i]!]
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!
  }
  return out
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** The bytes of a PDF string (literal or hex), as stored. */
const stringBytes = (value: PDFObject | undefined): Uint8Array | undefined =>
  value instanceof PDFHexString
    ? hexBytes(value.asString())
    : value instanceof PDFString
    ? literalBytes(value.asString())
    : undefined

const hexBytes = (hex: string): Uint8Array => {
  const digits = hex.replace(/[^0-9a-f]/gi, "")
  const even = digits.length % 2 === 0 ? digits : digits + "0"
  return Uint8Array.from(even.match(/../g) ?? [], (pair) => parseInt(pair, 16))
}

/** A literal string's bytes: its escapes (PDF 32000-2, 7.3.4.2) undone. */
const literalBytes = (raw: string): Uint8Array => {
  const out: Array<number> = []
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i)
    if (raw[i] === "\r") {
      out.push(0x0a)
      if (raw[i + 1] === "\n") i++
      continue
    }
    if (raw[i] !== "\\") {
      out.push(ch & 0xff)
      continue
    }
    const next = raw[++i]
    if (next === undefined) break
    const simple: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, b: 0x08, f: 0x0c, "(": 0x28, ")": 0x29 }
    if (next === "\\") out.push(0x5c)
    else if (next in simple) out.push(simple[next]!)
    else if (next === "\r") {
      if (raw[i + 1] === "\n") i++
    } else if (next === "\n") {
      // a line continuation
    } else if (/[0-7]/.test(next)) {
      let octal = next
      while (octal.length < 3 && /[0-7]/.test(raw[i + 1] ?? "")) octal += raw[++i]
      out.push(parseInt(octal, 8) & 0xff)
    } else {
      out.push(next.charCodeAt(0) & 0xff)
    }
  }
  return Uint8Array.from(out)
}

/** Encrypts the streams registered since `firstNew` (the ones drawn here) with the file's key. */
const encryptNewStreams = (doc: PDFDocument, firstNew: number, encryption: Encryption) => {
  if (encryption.method === "identity") return
  for (const [ref, object] of doc.context.enumerateIndirectObjects()) {
    if (ref.objectNumber < firstNew || !(object instanceof PDFStream)) continue
    const contents = object.getContents()
    const encrypted = encryptStream(encryption, ref, contents)
    const dict = object.dict.clone(doc.context)
    doc.context.assign(ref, PDFRawStream.of(dict, encrypted))
  }
}

const encryptStream = (encryption: Encryption, ref: PDFRef, data: Uint8Array): Uint8Array => {
  if (encryption.method === "aesv3") return aesEncrypt("aes-256-cbc", encryption.key, data)
  // Algorithm 1: the object's key from the file key, its number and generation ("sAlT" for AES)
  const { key } = encryption
  const n = ref.objectNumber
  const g = ref.generationNumber
  const md5 = createHash("md5").update(key)
  md5.update(Uint8Array.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, g & 0xff, (g >> 8) & 0xff]))
  if (encryption.method === "aesv2") md5.update(Buffer.from("sAlT", "latin1"))
  const objectKey = new Uint8Array(md5.digest()).subarray(0, Math.min(16, key.length + 5))
  return encryption.method === "aesv2" ? aesEncrypt("aes-128-cbc", objectKey, data) : rc4(objectKey, data)
}

/** AES-CBC with a random IV written before the data, PKCS#7 padding (PDF 32000-2, 7.6.3). */
const aesEncrypt = (algorithm: "aes-128-cbc" | "aes-256-cbc", key: Uint8Array, data: Uint8Array): Uint8Array => {
  const iv = randomBytes(16)
  const cipher = createCipheriv(algorithm, key, iv)
  return new Uint8Array(Buffer.concat([iv, cipher.update(data), cipher.final()]))
}
