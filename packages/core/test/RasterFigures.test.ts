/**
 * RasterFigures: the pictures of a page image, on synthetic pages drawn pixel by pixel at 150 DPI with the lines an
 * OCR would read on them (their glyphs drawn as strokes under their boxes). A photo between paragraphs is one figure
 * with its labels and without its caption; a bar chart's bars, far apart, make one figure, not one per bar; two
 * framed figures side by side stay two; and what is not a picture (a ruled table of text, a dark table header,
 * rules and underlines, a speck, a scanner's dark border, a pen's circle round a total) gives none. The finder's
 * time per page is a benchmark's figure, not asserted here.
 */
import { describe, expect, it } from "@effect/vitest"
import { type RasterLine, rasterFigures, turnBox } from "../src/engine/internal/layout/RasterFigures.js"

type Box = readonly [number, number, number, number]

/** A white RGBA page, a pen for rectangles (grey level, or a colour) and the OCR lines written on it so far. */
const page = (width = 1275, height = 1650) => {
  const data = new Uint8Array(width * height * 4).fill(255)
  const lines: Array<RasterLine> = []
  const paint = (x: number, y: number, rgb: readonly [number, number, number]) => {
    if (x >= 0 && y >= 0 && x < width && y < height) data.set([...rgb, 255], (y * width + x) * 4)
  }
  const fill = (x: number, y: number, w: number, h: number, grey = 0) => {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) paint(i, j, [grey, grey, grey])
  }
  /** A photo: tones and colours changing from pixel to pixel. */
  const photo = (x: number, y: number, w: number, h: number) => {
    for (let j = y; j < y + h; j++) {
      for (let i = x; i < x + w; i++) paint(i, j, [(i * 7 + j * 3) % 200, (i * 3 + j * 11) % 180, (i + j * 5) % 220])
    }
  }
  /** A line of text: glyph-like strokes in its box, and the line OCR reads there. */
  const write = (text: string, x: number, y: number, w = text.length * 11, h = 20) => {
    for (let i = x; i < x + w - 2; i += 7) fill(i, y + 3, 2, h - 6)
    lines.push({ text, box: [x, y, x + w, y + h] })
  }
  /** Lines of running text, one every 28 pixels. */
  const paragraph = (x: number, y: number, count: number, w = 1000) => {
    for (let k = 0; k < count; k++) write("Lorem ipsum dolor sit amet, consetetur sadipscing elitr", x, y + 28 * k, w)
  }
  return { image: { data, width, height, channels: 4 as const }, lines, fill, photo, write, paragraph }
}

/** Whether a found box is within `slack` pixels of the expected one on every side. */
const near = (found: Box, expected: Box, slack = 12) => found.every((v, i) => Math.abs(v - expected[i]!) <= slack)

describe("rasterFigures", () => {
  it("finds a photo between paragraphs, with its labels and without its caption", () => {
    const p = page()
    p.paragraph(130, 150, 10)
    p.photo(300, 480, 600, 400)
    p.write("north gate", 920, 600) // a label beside the photo
    p.write("Figure 1: the courtyard, seen from the north gate.", 300, 905)
    p.paragraph(130, 960, 10)
    const figures = rasterFigures(p.image, p.lines)
    expect(figures).toHaveLength(1)
    expect(near(figures[0]!, [300, 480, 1030, 880])).toBe(true)
  })

  it("takes a bar chart's bars, far apart, and their labels as one figure", () => {
    const p = page()
    p.paragraph(130, 150, 8)
    const bars = [[320, 300, "alpha"], [470, 180, "beta"], [620, 240, "gamma"], [770, 120, "delta"], [920, 280, "omega"]] as const
    for (const [x, h, label] of bars) {
      p.fill(x, 800 - h, 50, h / 2, 60)
      p.fill(x, 800 - h / 2, 50, h / 2, 150)
      p.write(label, x, 815)
    }
    for (const [k, tick] of ["300", "200", "100", "0"].entries()) p.write(tick, 250, 490 + 100 * k, 33)
    p.write("Figure 2. Yearly totals.", 400, 880)
    p.paragraph(130, 950, 8)
    const figures = rasterFigures(p.image, p.lines)
    expect(figures).toHaveLength(1)
    expect(near(figures[0]!, [250, 500, 970, 835], 20)).toBe(true)
  })

  it("keeps two framed figures side by side in their columns apart", () => {
    const p = page()
    p.paragraph(100, 150, 12, 500)
    for (const x of [100, 665]) {
      const top = x === 100 ? 520 : 150
      // a frame two pixels thick, a photo and a drawing inside it
      p.fill(x, top, 500, 2)
      p.fill(x, top + 450, 500, 2)
      p.fill(x, top, 2, 452)
      p.fill(x + 498, top, 2, 452)
      p.photo(x + 30, top + 40, 200, 150)
      p.photo(x + 260, top + 240, 200, 150)
      p.write(`Figure ${x === 100 ? 1 : 2}. A nut.`, x, top + 470)
    }
    const figures = rasterFigures(p.image, p.lines)
    expect(figures).toHaveLength(2)
    expect(near(figures[0]!, [665, 150, 1165, 602])).toBe(true)
    expect(near(figures[1]!, [100, 520, 600, 972])).toBe(true)
  })

  it("finds no picture in what is not one", () => {
    const p = page()
    p.paragraph(130, 100, 4)
    // a ruled table of short cells, its header on a dark band
    p.fill(130, 260, 1000, 40, 40)
    for (let row = 0; row < 6; row++) {
      p.fill(130, 300 + 40 * row, 1000, 2)
      for (let col = 0; col < 4; col++) p.write(row === 0 ? "Header" : `${row * 7}.${col}5`, 150 + 250 * col, 310 + 40 * row, 60)
    }
    for (let col = 0; col <= 4; col++) p.fill(130 + 250 * col, 260, 2, 240)
    for (let col = 0; col < 4; col++) p.write("Name", 150 + 250 * col, 270, 50)
    // underlined words, a long rule, a speck, a bullet
    p.write("an underlined heading", 130, 600)
    p.fill(130, 622, 230, 2)
    p.fill(130, 700, 1000, 3)
    p.fill(600, 760, 4, 4)
    p.fill(130, 800, 12, 12)
    // a pen's circle round a total
    p.write("TOTAL 9.00", 800, 900, 110)
    for (let a = 0; a < 360; a += 0.5) {
      const t = (a * Math.PI) / 180
      p.fill(Math.round(855 + 90 * Math.cos(t)), Math.round(910 + 50 * Math.sin(t)), 3, 3, 30)
    }
    p.paragraph(130, 1000, 6)
    // the scanner's dark border down the page's right edge, its shadow along the bottom, and in a corner the
    // table a photographed receipt lies on
    p.fill(1235, 0, 40, 1650, 30)
    p.fill(0, 1600, 1275, 50, 90)
    p.photo(0, 0, 110, 160)
    expect(rasterFigures(p.image, p.lines)).toEqual([])
  })

  it("finds a photo on a page scanned sideways where it is on the image, as on the page upright", () => {
    const p = page()
    p.paragraph(130, 150, 10)
    p.photo(300, 480, 600, 400)
    p.write("Figure 1: the courtyard, seen from the north gate.", 300, 905)
    p.paragraph(130, 960, 10)
    const { data, height, width } = p.image
    // the page turned a quarter counter-clockwise, as scanned: OCR turns it a quarter clockwise to read it
    const turned = new Uint8Array(data.length)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) turned.set(data.subarray((y * width + x) * 4, (y * width + x) * 4 + 4), ((width - 1 - x) * height + y) * 4)
    }
    const lines = p.lines.map(({ box, text }) => ({ text, box: turnBox(box, 270, width, height) }))
    const figures = rasterFigures({ data: turned, width: height, height: width, channels: 4 }, lines, 90)
    expect(figures).toHaveLength(1)
    expect(near(figures[0]!, turnBox([300, 480, 900, 880], 270, width, height))).toBe(true)
  })

  it("finds nothing on a blank or tiny image, and a photo on a page OCR read nothing on", () => {
    expect(rasterFigures(page(8, 8).image, [])).toEqual([])
    expect(rasterFigures(page().image, [])).toEqual([])
    const p = page()
    p.photo(300, 400, 500, 250)
    expect(rasterFigures(p.image, [])).toEqual([[300, 400, 800, 650]])
  })
})
