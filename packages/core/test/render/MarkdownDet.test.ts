/**
 * MarkdownDet: the annotated markdown reads back as written (types, boxes in thousandths, markdown with blank lines,
 * pipes and fences), page by page and as a job's whole file joined as DocumentHandler joins it, and on real blocks
 * of a corpus paper. The corpus test reads with the built pdf.js thread: run `npx tsc -b` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { DocumentHandler, MarkdownDet, PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"

const corpus = new URL("../../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)

const blocks: ReadonlyArray<MarkdownDet.DetBlock> = [
  { type: "title", bbox: [120, 40, 880, 80], markdown: "# Trace-based Just-in-Time Type Specialization" },
  { type: "section_header", bbox: [0, 0, 999, 999], markdown: "## 1. Introduction" },
  {
    type: "table",
    bbox: [100, 200, 900, 420],
    markdown: "| a | b |\n|---|---|\n| 1 | x \\| y |\n\n| 2 | <|ref|> not an annotation |"
  },
  { type: "code", bbox: [50, 430, 950, 600], markdown: "```js\nconst a = 1\n\n\nconst b = 2\n```" },
  { type: "paragraph", bbox: [50, 610, 950, 700], markdown: "First paragraph.\n\nSecond paragraph, same block." },
  { type: "picture", bbox: [10, 710, 300, 900], markdown: "" },
  { type: "formula", bbox: [10, 905, 300, 950], markdown: "$$\nE = mc^2\n$$\n" },
  { type: "list_item", bbox: [10, 955, 300, 999], markdown: "- last item, with a trailing blank\n\n" }
]

describe("MarkdownDet", () => {
  it("formats each block as its annotation line then its markdown, blocks separated by a blank line", () => {
    const text = MarkdownDet.formatMarkdownDet(blocks.slice(0, 2))
    expect(text).toBe(
      "<|ref|>title<|/ref|><|det|>[[120, 40, 880, 80]]<|/det|>\n# Trace-based Just-in-Time Type Specialization\n\n" +
        "<|ref|>section_header<|/ref|><|det|>[[0, 0, 999, 999]]<|/det|>\n## 1. Introduction"
    )
    expect(MarkdownDet.formatMarkdownDet([])).toBe("")
  })

  it("reads back types, boxes and markdown, blank lines and pipes included", () => {
    const text = MarkdownDet.formatMarkdownDet(blocks)
    expect(MarkdownDet.parseMarkdownDet(text)).toEqual(blocks)
    // and each block alone
    for (const block of blocks) {
      expect(MarkdownDet.parseMarkdownDet(MarkdownDet.formatMarkdownDet([block]))).toEqual([block])
    }
  })

  it("reads a job's whole file: pages joined by a blank line, empty pages leaving nothing", () => {
    const pages = [blocks.slice(0, 3), [], blocks.slice(3)].map(MarkdownDet.formatMarkdownDet)
    // as DocumentHandler writes markdown_det.md (joinNonEmpty)
    const file = pages.filter((text) => text !== "").join("\n\n")
    expect(MarkdownDet.parseMarkdownDet(file)).toEqual(blocks)
  })

  it("ignores text before the first annotation and reads CRLF line ends", () => {
    const crlf = MarkdownDet.formatMarkdownDet(blocks.slice(2, 5)).replace(/\n/g, "\r\n")
    const parsed = MarkdownDet.parseMarkdownDet("a preamble\r\n\r\n" + crlf)
    expect(parsed.map((b) => [b.type, b.bbox])).toEqual(blocks.slice(2, 5).map((b) => [b.type, b.bbox]))
    const markdown = blocks.slice(2, 5).map((b) => b.markdown.replace(/\n/g, "\r\n"))
    expect(parsed.map((b) => b.markdown)).toEqual(markdown)
    expect(MarkdownDet.parseMarkdownDet("no annotations here\n\nat all")).toEqual([])
  })

  it("detMarkdown: boxes to thousandths, the block's markdown; DocumentHandler's is the same function", () => {
    expect(DocumentHandler.detMarkdown).toBe(MarkdownDet.detMarkdown)
    const page: MarkdownDet.DetPage = {
      width: 612,
      height: 792,
      blocks: [
        { type: "heading", level: 2, bbox: [72, 72, 540, 90], text: "Results" },
        { type: "paragraph", level: 0, bbox: [72, 100, 612, 800], text: "• one | two" }
      ]
    }
    const text = MarkdownDet.detMarkdown(page)
    expect(text).toBe(
      "<|ref|>heading<|/ref|><|det|>[[118, 91, 881, 114]]<|/det|>\n## Results\n\n" +
        "<|ref|>paragraph<|/ref|><|det|>[[118, 126, 999, 999]]<|/det|>\n- one | two"
    )
    expect(MarkdownDet.parseMarkdownDet(text)).toEqual([
      { type: "heading", bbox: [118, 91, 881, 114], markdown: "## Results" },
      { type: "paragraph", bbox: [118, 126, 999, 999], markdown: "- one | two" }
    ])
    expect(MarkdownDet.detMarkdown({ width: 612, height: 792, blocks: [] })).toBe("")
  })

  it.live.skipIf(!haveCorpus)("real blocks of a corpus paper read back as written", () =>
    Effect.scoped(Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const bytes = new Uint8Array(readFileSync(new URL("pdfs-digital/pdfjs_tracemonkey.pdf", corpus)))
      const pdf = yield* engine.open(bytes, { filename: "tracemonkey.pdf" })
      const pages = []
      for (let i = 0; i < 3; i++) pages.push(DocumentHandler.pageResult(yield* pdf.page(i)))
      const file = pages.map(MarkdownDet.detMarkdown).filter((t) => t !== "").join("\n\n")
      const expected = pages.flatMap((page) =>
        page.blocks.map((block) => ({
          type: block.type,
          bbox: MarkdownDet.normalise(block.bbox, page),
          markdown: TextLayout.blockMarkdown(block)
        }))
      )
      expect(expected.length).toBeGreaterThan(20)
      expect(MarkdownDet.parseMarkdownDet(file)).toEqual(expected)
    })).pipe(Effect.provide(PdfEngine.layer())))
})
