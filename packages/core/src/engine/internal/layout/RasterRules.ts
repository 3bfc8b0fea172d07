/**
 * RasterRules: the straight rules a page image shows (table borders and the rules between a table's rows, underlines),
 * as the PageShapes a born-digital page's drawing operators give, so a scanned table is found by the same ruled-table
 * rules (layout/Table) as a born-digital one. A rule is a run of dark pixels at least MIN_LENGTH long, continued over
 * a few rows (or columns) at most: longer runs stacked higher than MAX_THICKNESS are an area (a photo, a filled box),
 * not a rule. Short breaks (a scan's dropouts) are bridged, and a slightly skewed rule, which steps from one row to
 * the next along its length, stays one rule. One pass over the pixels each way; a page that shows more than
 * MAX_RULES rules (a chart, a halftone) gives none, as PdfEngine does for pages that paint too many shapes.
 */
import type { PageShape } from "../../PdfEngine.js"
import type { RawImage } from "../ocr/rgbImage.js"

/** A pixel darker than this (0..255 luminance) is ink. */
const INK = 140

/** A rule is at least this long: a fraction of the image's side, and never under MIN_PIXELS (a dash is shorter). */
const MIN_LENGTH = 0.04
const MIN_PIXELS = 40

/** Rows (or columns) a rule may be thick before it is an area; at 150 DPI, 2.5 points. */
const MAX_THICKNESS = 5

/** Breaks in a run up to this many pixels are bridged. */
const BRIDGE = 2

/** More rules than this: the page is a picture, not rules (PdfEngine's limit on shapes). */
const MAX_RULES = 5_000

/**
 * Images larger than this (pixels) are looked at every second pixel each way: the two masks take a byte a pixel and
 * the pass runs on the event loop (a 300 DPI A3 scan is 17 megapixels; a phone's photo of a receipt can be 35).
 */
const MAX_FULL_PIXELS = 16_000_000

/** A run of ink along one row (or column). */
interface Run {
  readonly from: number
  readonly to: number
}

/** A rule being followed across rows (or columns): its extent, and the rows it covers. */
interface Track {
  from: number
  to: number
  first: number
  last: number
}

/**
 * The image's horizontal and vertical rules as lines (`kind: "line"`, each rule's two ends as its box), coordinates
 * multiplied by `scale` (points per pixel for a rendered page, 1 for an image in pixels).
 */
export const rasterRules = (image: RawImage, scale: number): Array<PageShape> => {
  if (image.width * image.height > MAX_FULL_PIXELS) return rasterRules(halved(image), scale * 2)
  const { width, height } = image
  if (width === 0 || height === 0) return []
  const ink = inkMask(image)
  const horizontal = follow(ink, height, width, minLength(width))
  if (horizontal === undefined) return []
  const vertical = follow(transpose(ink, width, height), width, height, minLength(height))
  if (vertical === undefined || horizontal.length + vertical.length > MAX_RULES) return []
  const round = (n: number) => Math.round(n * scale * 100) / 100
  return [
    ...horizontal.map((t): PageShape => {
      const y = round((t.first + t.last + 1) / 2)
      return { kind: "line", bbox: [round(t.from), y, round(t.to), y], filled: false }
    }),
    ...vertical.map((t): PageShape => {
      const x = round((t.first + t.last + 1) / 2)
      return { kind: "line", bbox: [x, round(t.from), x, round(t.to)], filled: false }
    })
  ]
}

/** Every second pixel of every second row: a rule two pixels thick or more survives it. */
const halved = (image: RawImage): RawImage => {
  const { data, width, height, channels } = image
  const [w, h] = [Math.ceil(width / 2), Math.ceil(height / 2)]
  const out = new Uint8Array(w * h * channels)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (2 * y * width + 2 * x) * channels
      const to = (y * w + x) * channels
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c]!
    }
  }
  return { data: out, width: w, height: h, channels }
}

const minLength = (side: number) => Math.max(MIN_PIXELS, Math.round(MIN_LENGTH * side))

/** 1 where a pixel is ink (alpha below half is paper). */
const inkMask = (image: RawImage): Uint8Array => {
  const { data, width, height, channels } = image
  const mask = new Uint8Array(width * height)
  for (let i = 0, p = 0; i < mask.length; i++, p += channels) {
    if (channels === 4 && data[p + 3]! < 128) continue
    // Rec. 601 luminance in 8-bit fixed point
    if (data[p]! * 77 + data[p + 1]! * 150 + data[p + 2]! * 29 < INK << 8) mask[i] = 1
  }
  return mask
}

/** The mask column by column (so that following columns reads memory in order). */
const transpose = (mask: Uint8Array, width: number, height: number): Uint8Array => {
  const out = new Uint8Array(mask.length)
  for (let y = 0; y < height; y++) {
    const row = y * width
    for (let x = 0; x < width; x++) out[x * height + y] = mask[row + x]!
  }
  return out
}

/**
 * The rules along one direction: `lines` lines (rows, or columns) of `length` pixels each, one after another in
 * `mask`. Each
 * line's long runs continue the tracks of the line before that they overlap; a track that grows thicker than
 * MAX_THICKNESS is an area and is dropped. Undefined when there are too many rules.
 */
const follow = (mask: Uint8Array, lines: number, length: number, minRun: number): Array<Track> | undefined => {
  const done: Array<Track> = []
  let open: Array<Track & { area: boolean }> = []
  const close = (track: Track & { area: boolean }) => {
    if (!track.area && track.to - track.from >= minRun) done.push(track)
  }
  for (let line = 0; line <= lines; line++) {
    const runs = line < lines ? runsOf(mask, line * length, length, minRun) : []
    const next: Array<Track & { area: boolean }> = []
    for (const run of runs) {
      // the tracks of the line before that this run continues, merged into one
      const joined = open.filter((t) => t.last === line - 1 && run.from <= t.to && run.to >= t.from)
      if (joined.length === 0) {
        next.push({ from: run.from, to: run.to, first: line, last: line, area: false })
        continue
      }
      const track = joined[0]!
      for (const other of joined.slice(1)) {
        track.from = Math.min(track.from, other.from)
        track.to = Math.max(track.to, other.to)
        track.first = Math.min(track.first, other.first)
        track.area ||= other.area
        open = open.filter((t) => t !== other)
      }
      track.from = Math.min(track.from, run.from)
      track.to = Math.max(track.to, run.to)
      track.last = line
      // a skewed rule steps along its length: it may cover a row more for every MIN_PIXELS of its length
      if (track.last - track.first + 1 > MAX_THICKNESS + (track.to - track.from) / (MIN_PIXELS * 4)) track.area = true
      if (!next.includes(track)) next.push(track)
    }
    for (const track of open) if (!next.includes(track)) close(track)
    open = next
    if (done.length > MAX_RULES) return undefined
  }
  return done
}

/** The runs of ink along the line at `offset` in `mask` at least `minRun` long, breaks up to BRIDGE pixels bridged. */
const runsOf = (mask: Uint8Array, offset: number, length: number, minRun: number): Array<Run> => {
  const runs: Array<Run> = []
  let from = -1
  let lastInk = -BRIDGE - 2
  for (let at = 0; at < length; at++) {
    if (mask[offset + at] === 0) continue
    if (from < 0 || at - lastInk > BRIDGE + 1) {
      if (from >= 0 && lastInk + 1 - from >= minRun) runs.push({ from, to: lastInk + 1 })
      from = at
    }
    lastInk = at
  }
  if (from >= 0 && lastInk + 1 - from >= minRun) runs.push({ from, to: lastInk + 1 })
  return runs
}
