import { describe, expect, it } from "@effect/vitest"
import * as Deskew from "../src/engine/internal/layout/Deskew.js"

/** A line's quad, corners in reading order, `length` long and `height` high, turned `degrees` clockwise about (x, y). */
const quad = (x: number, y: number, length: number, height: number, degrees: number): Array<Deskew.Point> =>
  [[x, y], [x + length, y], [x + length, y + height], [x, y + height]].map((p) =>
    Deskew.turnPoint(p as Deskew.Point, degrees, [x, y]))

/** Five lines down a page, each turned `degrees`. */
const page = (degrees: number) => Array.from({ length: 5 }, (_, i) => quad(100, 100 + 40 * i, 600, 30, degrees))

describe("Deskew", () => {
  it("reads a page's skew from its long lines, clockwise positive", () => {
    expect(Deskew.pageSkew(page(3), 0)).toBeCloseTo(3, 6)
    expect(Deskew.pageSkew(page(-2.5), 0)).toBeCloseTo(-2.5, 6)
  })

  it("measures the skew against the way text runs on a page OCR read turned", () => {
    // text running upwards: the page is read turned 90 degrees clockwise
    expect(Deskew.pageSkew(page(-90 + 2), 90)).toBeCloseTo(2, 6)
    expect(Deskew.pageSkew(page(180 - 4), 180)).toBeCloseTo(-4, 6)
    expect(Deskew.pageSkew(page(90 + 1), 270)).toBeCloseTo(1, 6)
  })

  it("leaves alone a skew too small to matter, one too large to be a tilt, and a page of short boxes", () => {
    expect(Deskew.pageSkew(page(0.3), 0)).toBe(0)
    expect(Deskew.pageSkew(page(20), 0)).toBe(0)
    expect(Deskew.pageSkew(Array.from({ length: 9 }, (_, i) => quad(100, 100 + 40 * i, 60, 30, 5)), 0)).toBe(0)
    expect(Deskew.pageSkew(page(3).slice(0, 2), 0)).toBe(0)
  })

  it("takes the median over the lines' lengths: a few stray lines do not move it", () => {
    const lines = [...page(2), quad(100, 400, 300, 30, 12), quad(100, 450, 300, 30, -8)]
    expect(Deskew.pageSkew(lines, 0)).toBeCloseTo(2, 6)
  })

  it("turns a line upright about the page's centre and its box back around it, within the page", () => {
    const centre: Deskew.Point = [400, 500]
    const line = quad(100, 300, 600, 30, 3)
    const upright = line.map((p) => Deskew.turnPoint(p, -3, centre))
    const box = Deskew.bounds(upright)
    expect(box[3] - box[1]).toBeCloseTo(30, 6)
    const back = Deskew.turnBlock({ type: "paragraph", level: 0, bbox: box, text: "x" }, 3, centre, [0, 0, 800, 1000])
    const around = Deskew.bounds(line)
    // the box turned back holds the line as it lies on the page
    expect(back.bbox[0]).toBeLessThanOrEqual(around[0] + 0.01)
    expect(back.bbox[1]).toBeLessThanOrEqual(around[1] + 0.01)
    expect(back.bbox[2]).toBeGreaterThanOrEqual(around[2] - 0.01)
    expect(back.bbox[3]).toBeGreaterThanOrEqual(around[3] - 0.01)
    const edge = Deskew.turnBlock({ type: "paragraph", level: 0, bbox: [0, 0, 800, 40], text: "x" }, 3, centre, [0, 0, 800, 1000])
    expect([edge.bbox[1], edge.bbox[2]]).toEqual([0, 800])
  })
})
