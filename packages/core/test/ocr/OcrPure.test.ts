/**
 * The OCR engine's pure parts on hand-built inputs: minimum-area rectangles, unclip, DB post-processing of a
 * synthetic probability map, CTC decoding, word-space recovery, strip narrowing and reading order.
 */
import { describe, expect, it } from "@effect/vitest"
import { ctcClasses, ctcDecode } from "../../src/engine/internal/ocr/ctcDecode.js"
import { dbPostprocess } from "../../src/engine/internal/ocr/dbPostprocess.js"
import { detSize } from "../../src/engine/internal/ocr/detInput.js"
import { minAreaRect, type Point } from "../../src/engine/internal/ocr/minAreaRect.js"
import { readingOrder } from "../../src/engine/internal/ocr/readingOrder.js"
import { unclip, unclipDistance } from "../../src/engine/internal/ocr/unclip.js"
import { inkProfile } from "../../src/engine/internal/ocr/inkProfile.js"
import type { Strip } from "../../src/engine/internal/ocr/lineCrop.js"
import { inkRuns, narrow, narrowedWidth, REC_STEP } from "../../src/engine/internal/ocr/narrowing.js"
import { textParts, trimQuad } from "../../src/engine/internal/ocr/textSpan.js"
import { withWordSpaces } from "../../src/engine/internal/ocr/wordSpaces.js"

const close = (a: ReadonlyArray<Point>, b: ReadonlyArray<Point>) =>
  a.forEach((p, i) => {
    expect(p[0]).toBeCloseTo(b[i]![0], 6)
    expect(p[1]).toBeCloseTo(b[i]![1], 6)
  })

describe("minAreaRect", () => {
  it("fits an axis-aligned rectangle, corners from top-left clockwise", () => {
    const pts: Array<Point> = [[10, 5], [30, 5], [30, 15], [10, 15], [20, 10], [12, 7]]
    const r = minAreaRect(pts)
    close(r.corners, [[10, 5], [30, 5], [30, 15], [10, 15]])
    expect([r.short, r.long]).toEqual([10, 20])
  })

  it("fits a rotated rectangle", () => {
    const a = Math.PI / 12
    const rot = ([x, y]: Point): Point => [100 + x * Math.cos(a) - y * Math.sin(a), 50 + x * Math.sin(a) + y * Math.cos(a)]
    const corners: Array<Point> = [[0, 0], [40, 0], [40, 8], [0, 8]].map((p) => rot(p as unknown as Point))
    const r = minAreaRect([...corners, rot([20, 4])])
    expect(r.long).toBeCloseTo(40, 6)
    expect(r.short).toBeCloseTo(8, 6)
    close(r.corners, [corners[0]!, corners[1]!, corners[2]!, corners[3]!])
  })
})

describe("unclip", () => {
  it("grows each side by area * ratio / perimeter", () => {
    expect(unclipDistance(100, 10, 1.5)).toBeCloseTo((1000 * 1.5) / 220, 9)
    const r = unclip(minAreaRect([[0, 0], [100, 0], [100, 10], [0, 10]]), 1.5)
    const d = (1000 * 1.5) / 220
    close(r.corners, [[-d, -d], [100 + d, -d], [100 + d, 10 + d], [-d, 10 + d]])
  })
})

describe("dbPostprocess", () => {
  it("turns a text kernel into one unclipped box in source coordinates, and drops faint or tiny regions", () => {
    const w = 64
    const h = 32
    const prob = new Float32Array(w * h)
    const fill = (x0: number, y0: number, x1: number, y1: number, p: number) => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) prob[y * w + x] = p
    }
    fill(10, 10, 49, 15, 0.9) // a text kernel
    fill(55, 20, 60, 25, 0.35) // above the pixel threshold, below the box threshold
    fill(2, 28, 3, 29, 0.9) // too small
    const boxes = dbPostprocess(prob, w, h, 2 * w, 2 * h)
    expect(boxes).toHaveLength(1)
    const d = (39 * 5 * 1.5) / (2 * 44)
    const [tl, , br] = boxes[0]!.quad
    expect(tl).toEqual([Math.round(2 * (10 - d)), Math.round(2 * (10 - d))])
    expect(br).toEqual([Math.round(2 * (49 + d)), Math.round(2 * (15 + d))])
    expect(boxes[0]!.score).toBeCloseTo(0.9, 5)
    expect(dbPostprocess(new Float32Array(w * h), w, h, w, h)).toEqual([])
  })

  it("scales pages to multiples of 32 within the side limit, never enlarging", () => {
    expect(detSize(1000, 2000, 1280)).toEqual({ width: 640, height: 1280 })
    expect(detSize(100, 50, 1280)).toEqual({ width: 96, height: 64 })
    expect(detSize(5, 5, 1280)).toEqual({ width: 32, height: 32 })
  })
})

describe("ctcDecode", () => {
  const classes = ctcClasses("a\nb\nc\n")
  /** A probability tensor with one hot class per step. */
  const onehot = (steps: ReadonlyArray<number>) => {
    const out = new Float32Array(steps.length * classes.length)
    steps.forEach((c, t) => (out[t * classes.length + c] = 0.9))
    return out
  }

  it("merges repeats, drops blanks, maps the last class to a space and keeps step spans", () => {
    expect(classes).toEqual(["", "a", "b", "c", " "])
    const line = ctcDecode(onehot([1, 1, 0, 1, 2, 0, 4, 3, 3]), 0, 9, classes)
    expect(line.chars.map((c) => c.char).join("")).toBe("aab c")
    expect(line.chars.map((c) => [c.first, c.last])).toEqual([[0, 1], [3, 3], [4, 4], [6, 6], [7, 8]])
    expect(line.confidence).toBeCloseTo(0.9, 6)
    expect(ctcDecode(onehot([0, 0]), 0, 2, classes)).toMatchObject({ chars: [], confidence: 0 })
  })

  it("takes each step's most likely class whether one has most of the probability or none does", () => {
    // softmax steps over 40 classes: some peaked (the blank, the previous step's class, or another, maybe with a
    // runner-up), some flat
    const k = 40
    const many = ctcClasses(Array.from({ length: k - 2 }, (_, i) => String.fromCharCode(65 + i)).join("\n"))
    let seed = 7
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    const steps = 400
    const probs = new Float32Array(steps * k)
    let previous = 0
    for (let t = 0; t < steps; t++) {
      const logits = Array.from({ length: k }, () => random() * 2)
      const peak = [0, previous, Math.floor(random() * k), -1][Math.floor(random() * 4)]!
      const boost = 2 + random() * 6
      if (peak >= 0) logits[peak]! += boost
      // a runner-up close behind: the blank or the previous class with a good share that is not the most
      if (peak >= 0 && random() < 0.5) logits[random() < 0.5 ? 0 : previous]! += boost - 0.2 - random()
      const exps = logits.map(Math.exp)
      const sum = exps.reduce((a, b) => a + b, 0)
      exps.forEach((e, c) => (probs[t * k + c] = e / sum))
      previous = exps.indexOf(Math.max(...exps))
    }
    const argmax = (t: number) => {
      const row = Array.from(probs.subarray(t * k, (t + 1) * k))
      return row.indexOf(Math.max(...row))
    }
    const expected: Array<string> = []
    for (let t = 0; t < steps; t++) {
      const c = argmax(t)
      if (c !== 0 && (t === 0 || argmax(t - 1) !== c)) expected.push(many[c]!)
    }
    expect(ctcDecode(probs, 0, steps, many).chars.map((c) => c.char)).toEqual(expected)
  })
})

describe("withWordSpaces", () => {
  /** A 48-high strip with black glyph blocks at the given column ranges, text rows 12..35. */
  const strip = (blocks: ReadonlyArray<[number, number]>, width = 200) => {
    const gray = new Uint8Array(width * 48).fill(255)
    for (const [x0, x1] of blocks) for (let y = 12; y < 36; y++) for (let x = x0; x < x1; x++) gray[y * width + x] = 0
    return { gray, width, height: 48 }
  }
  const chars = (text: string, centres: ReadonlyArray<number>) =>
    [...text].map((char, i) => ({ char, first: centres[i]! / 4, last: centres[i]! / 4, prob: 1 }))

  it("puts a space where the blank between letters is wide, not between close letters", () => {
    // glyphs 12 px wide; gaps of 3 px inside words and 16 px between them
    const blocks: Array<[number, number]> = [[0, 12], [15, 27], [43, 55], [58, 70]]
    const cs = chars("abcd", blocks.map(([a, b]) => Math.floor((a + b) / 2 / 4) * 4))
    expect(withWordSpaces(cs, inkProfile(strip(blocks)), 4)).toBe("ab cd")
    expect(withWordSpaces(cs, inkProfile(strip(blocks)), 4, { minGap: 0, minRatio: 3 })).toBe("abcd")
  })

  it("keeps the spaces the recogniser read and adds none to a blank strip", () => {
    const cs = chars("a b", [4, 40, 80])
    expect(withWordSpaces(cs, inkProfile(strip([])), 4)).toBe("a b")
  })
})

describe("textParts", () => {
  /** A 48-high strip with black glyph blocks at the given column ranges, text rows 12..35 (24 rows high). */
  const strip = (blocks: ReadonlyArray<[number, number]>, width = 300) => {
    const gray = new Uint8Array(width * 48).fill(255)
    for (const [x0, x1] of blocks) for (let y = 12; y < 36; y++) for (let x = x0; x < x1; x++) gray[y * width + x] = 0
    return { gray, width, height: 48 }
  }
  const chars = (text: string, blocks: ReadonlyArray<[number, number]>) =>
    [...text].map((char, i) => {
      const step = Math.floor((blocks[i]![0] + blocks[i]![1]) / 2 / 4)
      return { char, first: step, last: step, prob: 0.5 + i / 10 }
    })

  it("trims a box's blank margins to the ink of its first and last characters", () => {
    const blocks: Array<[number, number]> = [[40, 52], [55, 67], [75, 87]]
    const [part, ...rest] = textParts(chars("abc", blocks), inkProfile(strip(blocks)), 4)
    expect(rest).toEqual([])
    expect(part!.span).toEqual([40, 87])
  })

  /** Glyph blocks 12 columns wide, one per letter of `words`, 3 apart within a word, then each given gap. */
  const layout = (words: ReadonlyArray<string>, gaps: ReadonlyArray<number>) => {
    const blocks: Array<[number, number]> = []
    let x = 4
    words.forEach((word, w) => {
      for (let i = 0; i < word.length; i++) {
        blocks.push([x, x + 12])
        x += i < word.length - 1 ? 15 : 12 + (gaps[w] ?? 0)
      }
    })
    return { blocks, text: words.join("") }
  }
  const partsOf = (words: ReadonlyArray<string>, gaps: ReadonlyArray<number>) => {
    const { blocks, text } = layout(words, gaps)
    return textParts(chars(text, blocks), inkProfile(strip(blocks, 400)), 4).map((p) => p.chars.map((c) => c.char).join(""))
  }

  it("parts a line at a blank as wide as a column gutter that stands out from its word spaces", () => {
    // the 48-row strip is the box's height: word spaces of 8 columns, a gutter of 30 (over half the box's height)
    expect(partsOf(["ab", "cd", "ef", "gh"], [8, 8, 30])).toEqual(["abcdef", "gh"])
  })

  it("leaves a justified line whole, however wide its even word spaces", () => {
    expect(partsOf(["ab", "cd", "ef", "gh"], [30, 30, 30])).toEqual(["abcdefgh"])
  })

  it("parts two lone words only at a blank of most of the box's height", () => {
    expect(partsOf(["ab", "cd"], [30])).toEqual(["abcd"])
    expect(partsOf(["ab", "cd"], [40])).toEqual(["ab", "cd"])
  })

  it("keeps a blank strip whole, without a span", () => {
    const cs = chars("ab", [[10, 20], [30, 40]])
    expect(textParts(cs, inkProfile(strip([])), 4)).toEqual([{ chars: cs, span: undefined }])
  })

  it("trimQuad keeps the part of a slanted box between two strip columns", () => {
    const quad = [[0, 0], [100, 10], [100, 30], [0, 20]] as const
    expect(trimQuad(quad, 200, [50, 150])).toEqual([[25, 2.5], [75, 7.5], [75, 27.5], [25, 22.5]])
  })
})

describe("readingOrder", () => {
  it("groups boxes into rows top to bottom, left to right within a row", () => {
    const boxes = [
      [300, 52, 400, 70], // row 1, right
      [10, 10, 200, 30], // row 0
      [10, 50, 150, 72], // row 1, left
      [10, 90, 100, 110] // row 2
    ] as const
    expect(readingOrder(boxes)).toEqual([[1], [2, 0], [3]])
  })
})

/** A white strip 48 rows high with `letters` black bars `bar` columns wide, `pitch` columns apart. */
const barStrip = (letters: number, pitch: number, bar: number, turned?: boolean): Strip => {
  const width = letters * pitch
  const gray = new Uint8Array(width * 48).fill(255)
  for (let l = 0; l < letters; l++) {
    for (let y = 12; y < 36; y++) for (let x = l * pitch; x < l * pitch + bar; x++) gray[y * width + x] = 0
  }
  const rgb = new Uint8Array(width * 48 * 3)
  gray.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3))
  return { gray, rgb, width, height: 48, turned }
}

describe("narrowing", () => {
  it("counts a strip's letters as its runs of ink", () => {
    expect(inkRuns(inkProfile(barStrip(7, 30, 12))!)).toBe(7)
  })

  it("narrows wide letters to the steps they need, never below 0.6, and leaves tight ones as cut", () => {
    // 10 letters 32 columns apart: 4 steps each; to 2.6 steps
    const wide = barStrip(10, 32, 14)
    expect(narrowedWidth(wide, inkProfile(wide), 2.6)).toBe(Math.round(10 * 2.6 * REC_STEP))
    // 64 columns apart (8 steps): no narrower than 0.6
    const wider = barStrip(10, 64, 20)
    expect(narrowedWidth(wider, inkProfile(wider), 2.6)).toBe(Math.round(640 * 0.6))
    // 2.5 steps a letter already: as cut
    const tight = barStrip(10, 20, 9)
    expect(narrowedWidth(tight, inkProfile(tight), 2.6)).toBe(200)
    // off, no ink, or a vertical line: as cut
    expect(narrowedWidth(wide, inkProfile(wide), 0)).toBe(320)
    expect(narrowedWidth(wide, undefined, 2.6)).toBe(320)
    const turned = barStrip(10, 32, 14, true)
    expect(narrowedWidth(turned, inkProfile(turned), 2.6)).toBe(320)
  })

  it("resamples by the mean of the columns each covers: the ink is kept, its letters apart", () => {
    const strip = barStrip(10, 32, 14)
    const narrowed = narrow(strip, 208)
    expect([narrowed.width, narrowed.height, narrowed.gray.length, narrowed.rgb.length]).toEqual([208, 48, 208 * 48, 208 * 48 * 3])
    const mean = (a: Uint8Array) => a.reduce((sum, v) => sum + v, 0) / a.length
    expect(mean(narrowed.gray)).toBeCloseTo(mean(strip.gray), 0)
    expect(mean(narrowed.rgb)).toBeCloseTo(mean(narrowed.gray), 0)
    expect(inkRuns(inkProfile(narrowed)!)).toBe(10)
  })
})
