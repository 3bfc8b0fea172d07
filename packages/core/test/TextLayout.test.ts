/**
 * TextLayout on hand-built pages (lines, spaces, paragraphs, headings, de-hyphenation, two columns, sideways text)
 * and on text items pdf.js extracts from real papers of the corpus.
 */
import { describe, expect, it } from "@effect/vitest"
import { PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"

/** A text item at (x, y) (top-left), `size` points high, about half a size wide per character. */
const item = (text: string, x: number, y: number, size = 10, width = text.length * size * 0.5): PdfEngine.TextItem => ({
  text,
  x,
  y,
  width,
  height: size,
  fontName: "f1",
  fontSize: size,
  angle: 0
})

/** Lines of body text, 12 points apart, starting at `y`: one item per line. */
const column = (x: number, y: number, texts: ReadonlyArray<string>, size = 10) =>
  texts.map((text, i) => item(text, x, y + i * size * 1.2, size))

const texts = (blocks: ReadonlyArray<TextLayout.Block>) => blocks.map((b) => b.text)

describe("TextLayout", () => {
  it("builds a line from items on one baseline, in x order, with spaces only at real gaps", () => {
    const line = TextLayout.lines([
      item("world", 80, 100, 10, 25),
      item("Hel", 40, 100, 10, 15),
      item("lo", 55.2, 100, 10, 10), // kerning split: no gap, no space
      item("2", 105.5, 97, 6) // a superscript rides along
    ])
    expect(line.map((l) => l.text)).toEqual(["Hello world2"])
    expect(line[0]!.bbox).toEqual([40, 97, 108.5, 110])
    expect(line[0]!.fontSize).toBe(10)
  })

  it("drops text drawn twice to fake bold", () => {
    const line = TextLayout.lines([item("Bold", 40, 100), item("Bold", 40.4, 100), item("text", 70, 100)])
    expect(line[0]!.text).toBe("Bold text")
  })

  it("splits paragraphs at wider gaps, first-line indents, short last lines and bullets", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, ["The first paragraph runs over", "two lines of the same width."]),
      // a wider gap
      ...column(50, 140, ["A second paragraph after a gap", "ends with a short line."]),
      // no gap, but an indent
      item("An indented first line starts", 65, 164),
      item("the third paragraph right here.", 50, 176),
      ...column(50, 200, ["• a bullet item that wraps onto", "   its second line", "• another item"])
    ])
    expect(texts(blocks)).toEqual([
      "The first paragraph runs over two lines of the same width.",
      "A second paragraph after a gap ends with a short line.",
      "An indented first line starts the third paragraph right here.",
      "• a bullet item that wraps onto its second line",
      "• another item"
    ])
    expect(blocks.every((b) => b.type === "paragraph" && b.level === 0)).toBe(true)
    expect(TextLayout.markdown(blocks.slice(3)))
      .toBe("- a bullet item that wraps onto its second line\n\n- another item")
  })

  it("calls clearly larger text a heading, its level by how much larger", () => {
    const blocks = TextLayout.blocks([
      item("A Title", 50, 40, 18),
      item("1. Introduction", 50, 80, 12),
      ...column(50, 100, ["Body text of the section, long enough to be", "the body size of the page."]),
      item("1.1 Details", 50, 140, 14),
      ...column(50, 160, ["More body text follows the subsection heading."])
    ])
    expect(blocks.map((b) => [b.type, b.level, b.text])).toEqual([
      ["heading", 1, "A Title"],
      ["heading", 3, "1. Introduction"],
      ["paragraph", 0, "Body text of the section, long enough to be the body size of the page."],
      ["heading", 2, "1.1 Details"],
      ["paragraph", 0, "More body text follows the subsection heading."]
    ])
    expect(TextLayout.markdown(blocks.slice(0, 2))).toBe("# A Title\n\n### 1. Introduction")
    // the body size is the size of most characters, not of most items
    expect(TextLayout.bodySize([item("Body text", 0, 0), item("T", 0, 0, 18), item("T", 0, 0, 18)])).toBe(10)
  })

  it("joins words hyphenated across lines, and keeps the hyphen of a compound", () => {
    expect(TextLayout.joinLines(["the recog-", "nition of text"])).toBe("the recognition of text")
    expect(TextLayout.joinLines(["the resulting Trace-", "Monkey VM"])).toBe("the resulting Trace-Monkey VM")
    expect(TextLayout.joinLines(["a soft\u00ad", "hyphen"])).toBe("a softhyphen")
    expect(TextLayout.joinLines(["ends a sentence -", "then more"])).toBe("ends a sentence - then more")
    expect(TextLayout.composeAccents("a na¨ıve r´esum´e")).toBe("a naïve résumé")
  })

  it("joins Chinese and Japanese lines without a space, and spaces every other script", () => {
    expect(TextLayout.joinLines(["文字识别是一种", "将图像转换为文本的技术。"])).toBe("文字识别是一种将图像转换为文本的技术。")
    expect(TextLayout.joinLines(["日本語のテキスト、", "改行されています"])).toBe("日本語のテキスト、改行されています")
    expect(TextLayout.joinLines(["共 3 页（PDF）", "第 1 页"])).toBe("共 3 页（PDF）第 1 页")
    expect(TextLayout.joinLines(["价格 total", "123"])).toBe("价格 total 123")
    expect(TextLayout.joinLines(["한국어 문장이", "이어집니다"])).toBe("한국어 문장이 이어집니다")
  })

  it("reads a two-column page column by column, under a full-width title", () => {
    const left = ["Left column line one of the", "left column line two of the", "left column line three ends."]
    const right = ["Right column line one of it", "right column line two of it", "right column line three ends."]
    const blocks = TextLayout.blocks([
      item("A Two Column Paper", 150, 40, 16),
      // same baselines in both columns, a 30 pt gutter
      ...column(50, 80, left).flatMap((l, i) => [l, column(220, 80, right)[i]!])
    ])
    expect(texts(blocks)).toEqual([
      "A Two Column Paper",
      "Left column line one of the left column line two of the left column line three ends.",
      "Right column line one of it right column line two of it right column line three ends."
    ])
    expect(blocks[1]!.bbox).toEqual([50, 80, 190, 114])
  })

  it("keeps a running header on one line instead of cutting it into columns", () => {
    const blocks = TextLayout.blocks([
      item("254", 47, 71, 8),
      item("P.N.J. Lane et al. / Journal of Hydrology", 174, 71, 8),
      item("1. Introduction", 47, 93, 9),
      ...column(47, 117, ["Widespread afforestation through plantation", "establishment on non-forested land."], 9)
    ])
    expect(texts(blocks)).toEqual([
      "254 P.N.J. Lane et al. / Journal of Hydrology",
      "1. Introduction",
      "Widespread afforestation through plantation establishment on non-forested land."
    ])
  })

  it("turns a sideways page upright and maps the boxes back; stray angles follow the text", () => {
    // text running down the page (90°): after turning, "first" is above "second"
    const down = (text: string, x: number, y: number): PdfEngine.TextItem => ({
      ...item(text, x, y, 10),
      width: 10,
      height: text.length * 5,
      angle: 90
    })
    const blocks = TextLayout.blocks([
      down("Sideways text first line", 300, 100),
      down("and its second line here.", 288, 100),
      { ...item("arXiv:1234", 10, 400), angle: -90 }
    ])
    expect(texts(blocks)).toEqual(["Sideways text first line and its second line here.", "arXiv:1234"])
    expect(blocks[0]!.bbox).toEqual([288, 100, 310, 225])
  })

  it("counts a page without letters or digits as having no text layer", () => {
    expect(TextLayout.hasUsableText([item("  ", 0, 0), item("\ufffd\ufffd", 0, 0), item("\u0001", 0, 0)])).toBe(false)
    expect(TextLayout.hasUsableText([item("...", 0, 0)])).toBe(false)
    expect(TextLayout.hasUsableText([item("Page 1", 0, 0)])).toBe(true)
    expect(TextLayout.blocks([])).toEqual([])
  })
})

const corpus = new URL("../../../../shared/corpus/pdfs-digital/", import.meta.url)
const haveCorpus = existsSync(corpus)

/** The blocks of one page of a corpus paper, read by the real engine. */
const pageBlocks = (name: string, page: number) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const pdf = yield* engine.open(new Uint8Array(readFileSync(new URL(name, corpus))), { filename: name })
    const text = yield* pdf.page(page)
    return { text, blocks: TextLayout.blocks(text.items) }
  }))

const skipped = haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"

describe.skipIf(!haveCorpus)(`TextLayout on corpus papers${skipped}`, () => {
  it.live("tracemonkey page 1: title, abstract, then the left column before the right one", () =>
    Effect.gen(function*() {
      const { text, blocks } = yield* pageBlocks("pdfjs_tracemonkey.pdf", 0)
      expect(TextLayout.bodySize(text.items)).toBe(9)
      const md = TextLayout.markdown(blocks)
      expect(md.startsWith("# Trace-based Just-in-Time Type Specialization for Dynamic Languages\n\n")).toBe(true)
      const order = [
        "Dynamic languages such as JavaScript are more difficult to compile", // abstract, left column
        "### 1. Introduction", // left column, lower down
        "and is used for the application logic of browser-based" // top of the right column
      ].map((s) => md.indexOf(s))
      expect(order.every((i) => i >= 0)).toBe(true)
      expect(order).toEqual([...order].sort((a, b) => a - b))
      // every block lies on the page
      for (const b of blocks) {
        expect(b.bbox[0]).toBeGreaterThanOrEqual(0)
        expect(b.bbox[3]).toBeLessThanOrEqual(text.height)
      }
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("a two-column journal page with subscripts keeps its paragraphs whole", () =>
    Effect.gen(function*() {
      const { blocks } = yield* pageBlocks("mineru_demo1.pdf", 0)
      const abstract = blocks.find((b) => b.text.startsWith("The hydrologic effect of replacing pasture"))!
      // the line with "N" + subscript "zero" did not split the paragraph
      expect(abstract.text).toContain(
        "(Nzero) for the catchments in group 1. This model performed particularly well, and when adjusted for climate"
      )
      const second = (yield* pageBlocks("mineru_demo1.pdf", 1)).blocks
      expect(second[0]!.text).toBe("254 P.N.J. Lane et al. / Journal of Hydrology 310 (2005) 253–265")
      expect(second[1]!.text).toBe("1. Introduction")
    }).pipe(Effect.provide(PdfEngine.layer())))
})
