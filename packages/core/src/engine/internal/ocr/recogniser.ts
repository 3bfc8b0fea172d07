/**
 * The recogniser's step for one line strip: the strip (grey-level and RGB pixels at height 48) through PP-OCRv4 rec,
 * CTC-decoded, word spaces put back from the strip's ink, and, for a page's boxes, parted at gutter-wide blanks
 * (textSpan.ts). Shared by the OCR engine and its recogniser threads (RecThreads), which read a page's strips in
 * parallel, so a strip reads the same wherever it is read.
 */
import * as ort from "onnxruntime-node"
import { ctcDecode, type CtcLine, meanProb } from "./ctcDecode.js"
import { inkProfile } from "./inkProfile.js"
import { recInput, type Strip } from "./lineCrop.js"
import { narrow, narrowedWidth } from "./narrowing.js"
import { textParts } from "./textSpan.js"
import { withWordSpaces } from "./wordSpaces.js"

/** The recogniser's input height. */
export const REC_HEIGHT = 48

/** A piece of a strip as read: its text, and the strip columns its characters span (see textSpan.ts). */
export interface ReadPart {
  readonly text: string
  readonly confidence: number
  readonly span: readonly [number, number] | undefined
}

/** How strips are read (the engine's settings; see OcrEngineConfig). */
export interface ReadSettings {
  readonly recMinWidth: number
  readonly recStepsPerChar: number
  readonly wordSpaceGap: number
  readonly wordSpaceRatio: number
}

/** What to do with a strip's text: put back word spaces; part it at gutters (a page's boxes, not a line image). */
export interface ReadRequest {
  readonly wordSpaces: boolean
  readonly parted: boolean
}

/** Reads one strip with the recognition session `rec`. */
export const readStrip = async (
  rec: ort.InferenceSession,
  classes: ReadonlyArray<string>,
  strip: Strip,
  settings: ReadSettings,
  request: ReadRequest
): Promise<ReadonlyArray<ReadPart>> => {
  const ink = inkProfile(strip)
  const narrowTo = narrowedWidth(strip, ink, settings.recStepsPerChar)
  const input = narrowTo < strip.width ? narrow(strip, narrowTo) : strip
  const width = Math.max(settings.recMinWidth, input.width)
  const probs = await run(rec, recInput([input], width), [1, 3, REC_HEIGHT, width])
  const steps = probs.dims[1]!
  const line: CtcLine = ctcDecode(probs.data, 0, steps, classes)
  // the columns of the strip as cut (its ink's frame) one step covers
  const stepWidth = (width / steps) * (strip.width / input.width)
  const parts = request.parted && strip.turned !== true
    ? textParts(line.chars, ink, stepWidth)
    : [{ chars: line.chars, span: undefined }]
  return parts.map(({ chars, span }) => {
    const text = request.wordSpaces
      ? withWordSpaces(chars, ink, stepWidth, { minGap: settings.wordSpaceGap, minRatio: settings.wordSpaceRatio })
      : chars.map((c) => c.char).join("")
    const confidence = chars === line.chars ? line.confidence : meanProb(chars)
    return { text: text.normalize("NFKC").trim(), confidence, span }
  })
}

/** Runs a model on one float tensor; its first output. */
export const run = async (
  session: ort.InferenceSession,
  data: Float32Array,
  dims: ReadonlyArray<number>
): Promise<{ readonly data: Float32Array; readonly dims: ReadonlyArray<number> }> => {
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", data, dims) })
  const tensor = out[session.outputNames[0]!]!
  return { data: tensor.data as Float32Array, dims: tensor.dims }
}
