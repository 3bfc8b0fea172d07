/**
 * RasterRules: the rules a page image shows, on synthetic images drawn pixel by pixel: a ruled grid's rules are found
 * where they are (in points), and what is not a rule (letters, a filled box, a photo-like block, a dash) gives none.
 */
import { describe, expect, it } from "@effect/vitest"
import { rasterRules } from "../src/engine/internal/layout/RasterRules.js"

/** A white RGBA page `width` x `height` and a pen that paints black rectangles (x, y, w, h in pixels). */
const page = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 4).fill(255)
  const fill = (x: number, y: number, w: number, h: number, grey = 0) => {
    for (let j = y; j < y + h; j++) {
      for (let i = x; i < x + w; i++) data.set([grey, grey, grey, 255], (j * width + i) * 4)
    }
  }
  return { image: { data, width, height, channels: 4 as const }, fill }
}

describe("rasterRules", () => {
  it("finds a grid's horizontal and vertical rules, scaled to points", () => {
    const { image, fill } = page(600, 400)
    // a 3 x 2 grid: rules 2 pixels thick
    for (const y of [100, 150, 200]) fill(100, y, 300, 2)
    for (const x of [100, 250, 398]) fill(x, 100, 2, 102)
    const rules = rasterRules(image, 0.5)
    const horizontal = rules.filter((r) => r.bbox[1] === r.bbox[3]).map((r) => r.bbox)
    const vertical = rules.filter((r) => r.bbox[0] === r.bbox[2]).map((r) => r.bbox)
    expect(horizontal).toEqual([[50, 50.5, 200, 50.5], [50, 75.5, 200, 75.5], [50, 100.5, 200, 100.5]])
    expect(vertical).toEqual([[50.5, 50, 50.5, 101], [125.5, 50, 125.5, 101], [199.5, 50, 199.5, 101]])
    expect(rules.every((r) => r.kind === "line" && !r.filled)).toBe(true)
  })

  it("bridges a scan's small breaks and follows a slightly skewed rule as one", () => {
    const { image, fill } = page(800, 200)
    fill(50, 50, 200, 1)
    fill(252, 50, 200, 1) // a 2-pixel break
    for (let i = 0; i < 6; i++) fill(50 + i * 100, 120 + i, 102, 2) // falls 5 rows over 600 columns
    const rules = rasterRules(image, 1)
    expect(rules.map((r) => r.bbox)).toEqual([[50, 50.5, 452, 50.5], [50, 123.5, 652, 123.5]])
  })

  it("gives no rule for letters, a dash, a filled box or a dark picture", () => {
    const { image, fill } = page(600, 400)
    // letter-like strokes: 20 pixels tall, 3 wide; a dash 25 long
    for (let x = 50; x < 400; x += 12) fill(x, 40, 3, 20)
    fill(420, 50, 25, 2)
    fill(100, 100, 300, 40) // a filled box
    // a dark picture, its tones varying from pixel to pixel
    for (let y = 200; y < 380; y++) for (let x = 50; x < 550; x++) fill(x, y, 1, 1, (x * 7 + y * 13) % 120)
    expect(rasterRules(image, 1)).toEqual([])
  })

  it("finds the rules of a large image, looked at every second pixel, in the image's own scale", () => {
    const { image, fill } = page(5000, 4000) // 20 megapixels
    fill(1000, 1000, 3000, 4)
    fill(1000, 1000, 4, 2000)
    const rules = rasterRules(image, 0.5)
    expect(rules.map((r) => r.bbox)).toEqual([[500, 501, 2000, 501], [501, 500, 501, 1500]])
  })

  it("ignores transparent pixels and gives nothing for an empty image", () => {
    const { image } = page(300, 100)
    for (let x = 20; x < 280; x++) image.data.set([0, 0, 0, 0], (50 * 300 + x) * 4)
    expect(rasterRules(image, 1)).toEqual([])
    expect(rasterRules({ data: new Uint8Array(0), width: 0, height: 0, channels: 3 }, 1)).toEqual([])
  })
})
