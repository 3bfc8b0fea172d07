/**
 * Runs the BUILT `scriptorium` binary (packages/cli/dist/main.js; `npx tsc -b` first) as a child process, as a user
 * or a script would: to its end with its exit code and both output streams, or in the background (serve, worker)
 * until a line appears.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const root = join(import.meta.dirname, "../../..")
export const main = join(root, "packages/cli/dist/main.js")
export const corpus = join(root, "../shared/corpus")
/** A born-digital report of 5 pages: small enough for every test that processes a file. */
export const smallPdf = join(corpus, "pdfs-digital/docling_multi_page.pdf")
/** A sentence of its first page. */
export const smallPdfText = "The Evolution of the Word Processor"
/** The longest document of the corpus (55 pages): long enough to act on a job in the middle of it. */
export const longPdf = join(corpus, "pdfs-real/pdkids.pdf")
/**
 * A scanned book of 8 pages, each read by OCR in seconds: slow enough that a job in the middle of it is still there
 * a second later (pdkids' 55 text pages can all be read in that second).
 */
export const slowPdf = join(corpus, "pdfs-real/mineru_small_ocr.pdf")

/** A fresh folder under the system's temporary folder. */
export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `scriptorium-cli-${name}-`))

/** The variables a test must not inherit from the machine (they would point the CLI elsewhere). */
const isolated = {
  SCRIPTORIUM_URL: "",
  SCRIPTORIUM_TOKEN: "",
  DATABASE_URL: "",
  AUTH_TOKEN: "",
  PORT: "",
  HOST: "",
  SCRIPTORIUM_DATA_DIR: "",
  WORKER_CONCURRENCY: ""
}

/** How a finished run ended. */
export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A command running in the background. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once the process is gone. */
  readonly exited: Promise<Ran>
  /** Resolves once `text` appears on stdout or stderr; rejects if the process exits first or time runs out. */
  readonly waitFor: (text: string | RegExp, timeoutMs?: number) => Promise<void>
}

const children = new Set<ChildProcess>()

/** Kills whatever a test left running (call from afterAll). */
export const killAll = () => {
  for (const child of children) child.kill("SIGKILL")
}

/** Starts `scriptorium ...args` with extra environment variables. */
export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Running => {
  const child = spawn(process.execPath, [main, ...args], {
    cwd: root,
    env: { ...process.env, ...isolated, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => stdout += String(chunk))
  child.stderr!.on("data", (chunk) => stderr += String(chunk))
  const exited = new Promise<Ran>((resolve) =>
    child.once("close", (code, signal) => {
      children.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  )
  let done = false
  void exited.then(() => done = true)
  const waitFor = async (text: string | RegExp, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    const seen = () => {
      const all = stdout + stderr
      return typeof text === "string" ? all.includes(text) : text.test(all)
    }
    while (!seen()) {
      if (done) throw new Error(`exited before printing ${String(text)}:\n${stdout}\n${stderr}`)
      if (Date.now() > deadline) throw new Error(`did not print ${String(text)} in time:\n${stdout}\n${stderr}`)
      await sleep(20)
    }
  }
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitFor }
}

/** Runs `scriptorium ...args` to its end. */
export const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Ran> =>
  start(args, env).exited

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A TCP port nothing listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject())
    })
  })
