/**
 * The progress display on a terminal and off it, writing to a real in-memory stream: on a terminal it redraws the
 * files bar and one pages bar per file in place (cursor up, clear line) and writes a result line without breaking
 * the drawing; off a terminal it prints one plain line per change and nothing twice.
 */
import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import * as Progress from "../src/internal/Progress.js"

/** A stream that keeps what is written to it, posing as a terminal `columns` wide, or as a pipe. */
const capture = (tty: boolean, columns = 200) => {
  const stream = new PassThrough()
  let text = ""
  stream.on("data", (chunk) => text += String(chunk))
  return { sink: Object.assign(stream, { isTTY: tty, columns }), text: () => text }
}

const job = (status: Progress.FileState["status"], processed_pages: number, total_pages: number, error?: string) => ({
  status,
  processed_pages,
  total_pages,
  error
})

/** The screen a terminal would show after `text`: each ESC[nF goes up n lines, ESC[2K clears the line. */
const screen = (text: string): Array<string> => {
  const lines: Array<string> = []
  let row = 0
  for (const token of text.split(/(\x1b\[\d+F|\x1b\[2K|\x1b\[J|\n)/)) {
    const up = /^\x1b\[(\d+)F$/.exec(token)
    if (up) row -= Number(up[1])
    else if (token === "\n") row++
    else if (token === "\x1b[2K") lines[row] = ""
    else if (token === "\x1b[J") lines.length = row
    else if (token !== "") lines[row] = (lines[row] ?? "") + token
  }
  return lines
}

describe("Progress on a terminal", () => {
  it("redraws a files bar and a pages bar per file in place", async () => {
    const out = capture(true)
    const progress = Progress.make(out.sink, ["a.pdf", "b.pdf"])
    progress.update("a.pdf", job("processing", 1, 4))
    progress.update("b.pdf", job("refused", 0, 0, "The file 'b.pdf' is not a PDF."))
    progress.update("a.pdf", job("processing", 2, 4))
    progress.update("a.pdf", job("completed", 4, 4))
    progress.finish()
    await new Promise((resolve) => setImmediate(resolve))
    expect(out.text()).toContain("\x1b[3F")
    expect(screen(out.text())).toEqual([
      `   files [####################] 2/2 done`,
      `ok a.pdf [####################] 4/4 pages completed`,
      `!! b.pdf [--------------------] failed: The file 'b.pdf' is not a PDF.`
    ])
  })

  it("shows half a bar at half the pages, and cuts lines to the terminal's width until the end", async () => {
    const out = capture(true, 30)
    const progress = Progress.make(out.sink, ["long-name.pdf"])
    progress.update("long-name.pdf", job("processing", 5, 10))
    await new Promise((resolve) => setImmediate(resolve))
    const lines = screen(out.text())
    expect(lines.every((line) => line.length <= 29)).toBe(true)
    expect(Progress.barLine("long-name.pdf", job("processing", 5, 10), 13, 10)).toBe(
      ".. long-name.pdf [#####-----] 5/10 pages processing"
    )
  })

  it("writes a result line above the bars, which are drawn again below it", async () => {
    // stdout and stderr on one terminal: one stream receives both, in the order they are written
    const terminal = capture(true)
    const progress = Progress.make(terminal.sink, ["a.pdf"])
    progress.update("a.pdf", job("processing", 1, 2))
    progress.print(terminal.sink, "/out/a")
    progress.update("a.pdf", job("completed", 2, 2))
    progress.finish()
    await new Promise((resolve) => setImmediate(resolve))
    expect(screen(terminal.text())).toEqual([
      "/out/a",
      "   files [####################] 1/1 done",
      "ok a.pdf [####################] 2/2 pages completed"
    ])
  })
})

describe("Progress off a terminal", () => {
  it("prints one plain line per change, never the same line twice, and no escape codes", async () => {
    const out = capture(false)
    const progress = Progress.make(out.sink, ["a.pdf"])
    progress.update("a.pdf", job("pending", 0, 3))
    progress.update("a.pdf", job("processing", 1, 3))
    progress.update("a.pdf", job("processing", 1, 3))
    progress.update("a.pdf", job("failed", 1, 3, "The PDF 'a.pdf' cannot be read."))
    progress.print(out.sink, "result")
    progress.finish()
    await new Promise((resolve) => setImmediate(resolve))
    expect(out.text()).toBe(
      "a.pdf: pending 0/3 pages\n" +
        "a.pdf: processing 1/3 pages\n" +
        "a.pdf: failed: The PDF 'a.pdf' cannot be read.\n" +
        "result\n"
    )
  })
})
