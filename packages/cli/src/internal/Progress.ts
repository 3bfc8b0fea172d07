/**
 * The progress display of `process` and `submit --wait`, on stderr. On a terminal it redraws, in place, one bar for
 * the files (how many have ended) and one bar per file for its pages; elsewhere (a pipe, a CI log) it prints one
 * plain line per change, because cursor movements would litter a log. Results never go through here: they go to
 * stdout, so a script can read them apart from the progress.
 */
import type { JobStatus } from "@scriptorium/api"

/** Where the display writes: process.stderr, or any stream with the same three members. */
export interface Sink {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/** What is known of one file: the job's status and pages, or why it was refused before it became a job. */
export interface FileState {
  readonly status: JobStatus | "refused"
  readonly processed_pages: number
  readonly total_pages: number
  /** Why the file failed or was refused: the error's sentence. */
  readonly error?: string | null | undefined
}

/** A display of several files' progress. */
export interface Progress {
  /** Records a file's new state and shows it (a plain line only when something a reader cares about changed). */
  readonly update: (name: string, state: FileState) => void
  /**
   * Writes a line on `out` (usually stdout, a result) without breaking the drawing: on a terminal shared by both
   * streams the bars are erased, the line written, and the bars drawn again below it.
   */
  readonly print: (out: Sink, line: string) => void
  /** Draws the final state, with errors in full, and stops drawing. */
  readonly finish: () => void
}

/** Whether a status is the end of a file's story. */
export const isFinal = (status: FileState["status"]): boolean =>
  status === "completed" || status === "failed" || status === "cancelled" || status === "refused"

/** A bar of `width` cells, `fraction` (0..1) of them filled. */
export const bar = (fraction: number, width: number): string => {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
}

/** The pages part of a line: "3/10 pages", or "" while the page count is unknown. */
const pages = (state: FileState): string =>
  state.total_pages > 0 ? `${state.processed_pages}/${state.total_pages} pages` : ""

/** One plain line for a file's state, as printed when not on a terminal. */
export const plainLine = (name: string, state: FileState): string => {
  if (state.status === "failed" || state.status === "refused") return `${name}: failed: ${state.error ?? "unknown error"}`
  const count = pages(state)
  return `${name}: ${state.status}${count === "" ? "" : ` ${count}`}`
}

/** A two-letter mark that tells ended files apart at a glance. */
const mark = (status: FileState["status"]): string =>
  status === "completed" ? "ok" : status === "cancelled" ? "--" : isFinal(status) ? "!!" : ".."

/** One terminal line for a file: a mark, its name padded to `nameWidth`, its pages bar, and its status. */
export const barLine = (name: string, state: FileState, nameWidth: number, barWidth: number): string => {
  const fraction = state.status === "completed" ? 1 : state.total_pages > 0 ? state.processed_pages / state.total_pages : 0
  const tail = state.status === "failed" || state.status === "refused"
    ? `failed: ${state.error ?? "unknown error"}`
    : `${pages(state)} ${state.status}`.trim()
  return `${mark(state.status)} ${name.padEnd(nameWidth)} ${bar(fraction, barWidth)} ${tail}`
}

/** The line above the files: how many of them have ended. */
export const totalLine = (states: ReadonlyArray<FileState>, nameWidth: number, barWidth: number): string => {
  const ended = states.filter((state) => isFinal(state.status)).length
  const label = "files".padEnd(nameWidth)
  return `   ${label} ${bar(states.length === 0 ? 1 : ended / states.length, barWidth)} ${ended}/${states.length} done`
}

/** Cuts a line to the terminal's width, so that no line wraps and the redraw stays in place. */
const fit = (line: string, columns: number): string => columns > 0 && line.length > columns ? line.slice(0, columns - 1) : line

/** A display for the files named, in that order, on `sink`; a terminal gets bars, anything else plain lines. */
export const make = (sink: Sink, names: ReadonlyArray<string>): Progress => {
  const states = new Map<string, FileState>(
    names.map((name) => [name, { status: "pending", processed_pages: 0, total_pages: 0 }])
  )
  return sink.isTTY === true ? terminal(sink, states) : plain(sink, states)
}

const plain = (sink: Sink, states: Map<string, FileState>): Progress => {
  const printed = new Map<string, string>()
  return {
    update: (name, state) => {
      states.set(name, state)
      const line = plainLine(name, state)
      if (printed.get(name) === line) return
      printed.set(name, line)
      sink.write(`${line}\n`)
    },
    print: (out, line) => out.write(`${line}\n`),
    finish: () => {}
  }
}

const terminal = (sink: Sink, states: Map<string, FileState>): Progress => {
  const nameWidth = Math.min(40, Math.max(5, ...[...states.keys()].map((name) => name.length)))
  const barWidth = 20
  let drawn = 0
  let finished = false
  const draw = (full: boolean) => {
    const columns = full ? 0 : sink.columns ?? 80
    const lines = [
      totalLine([...states.values()], nameWidth, barWidth),
      ...[...states].map(([name, state]) => barLine(name, state, nameWidth, barWidth))
    ]
    // back to the top of the previous drawing, then each line cleared and rewritten
    const up = drawn > 0 ? `\x1b[${drawn}F` : ""
    sink.write(up + lines.map((line) => `\x1b[2K${fit(line, columns)}\n`).join(""))
    drawn = lines.length
  }
  return {
    update: (name, state) => {
      if (finished) return
      states.set(name, state)
      draw(false)
    },
    print: (out, line) => {
      if (finished || drawn === 0) return out.write(`${line}\n`)
      // up to the top of the drawing and clear to the end of the screen; the next draw starts below the line
      sink.write(`\x1b[${drawn}F\x1b[J`)
      drawn = 0
      out.write(`${line}\n`)
      draw(false)
    },
    finish: () => {
      if (finished) return
      finished = true
      draw(true)
    }
  }
}
