/**
 * The built standalone server as a child process (`node examples/server/dist/main.js`, configured by environment
 * variables as a user would), driven over HTTP with Node's fetch: seed 000's test cases, seed 001's curl session on
 * a real PDF, and restarts in the middle of a job (SIGTERM, then kill -9) after which the job still completes.
 * `npm test` builds the server first.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "../../..")
const main = join(root, "examples/server/dist/main.js")
const corpus = join(root, "../shared/corpus")
/** A born-digital paper (5 pages): the seed's curl session. */
const paper = readFileSync(join(corpus, "pdfs-digital/docling_multi_page.pdf"))
/** The longest document of the corpus (55 pages): long enough to stop the server in the middle of it. */
const longDocument = readFileSync(join(corpus, "pdfs-real/pdkids.pdf"))

interface Running {
  readonly base: string
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>
}

const children = new Set<ChildProcess>()

afterAll(() => {
  for (const child of children) child.kill("SIGKILL")
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject())
    })
  })

/** Starts the built server with `env` on a free port; resolves once it printed its listening line. */
const start = async (env: Record<string, string>): Promise<Running> => {
  const port = await freePort()
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", AUTH_TOKEN: "", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  child.stdout!.on("data", (chunk) => output += String(chunk))
  child.stderr!.on("data", (chunk) => output += String(chunk))
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child)
      resolve(code ?? signal ?? -1)
    })
  )
  const deadline = Date.now() + 30_000
  while (!output.includes("Scriptorium listening on")) {
    if (child.exitCode !== null) throw new Error(`the server exited at start:\n${output}`)
    if (Date.now() > deadline) throw new Error(`the server did not start:\n${output}`)
    await sleep(25)
  }
  return { base: `http://127.0.0.1:${port}`, child, output: () => output, exited }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const upload = (base: string, bytes: Uint8Array, filename: string) => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), filename)
  return fetch(`${base}/process_pdf`, { method: "POST", body: form })
}

const status = async (base: string, id: string) => {
  const response = await fetch(`${base}/result/${id}/status`)
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, any>
}

/**
 * Polls the status route until `until` holds (or the job ends, or time runs out) and returns the last state; every
 * state seen is pushed to `seen` when given.
 */
const poll = async (
  base: string,
  id: string,
  until: (job: Record<string, any>) => boolean,
  timeoutMs = 60_000,
  everyMs = 25,
  seen: Array<Record<string, any>> = []
) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await status(base, id)
    seen.push(job)
    if (until(job) || ["completed", "failed", "cancelled"].includes(job.status) || Date.now() > deadline) return job
    await sleep(everyMs)
  }
}

const dataDir = (name: string) => mkdtempSync(join(tmpdir(), `scriptorium-server-${name}-`))

describe("seed 000's test cases, on the built server", () => {
  it("upload returns at once with pending; unknown id is 404; results of a pending job are 202", async () => {
    const data = dataDir("seed000")
    // API only (no worker in this process): the job stays pending for as long as the test needs
    const api = await start({ SCRIPTORIUM_DATA_DIR: data, WORKER_CONCURRENCY: "0" })
    try {
      // test_process_pdf_returns_immediately
      const started = performance.now()
      const response = await upload(api.base, paper, "test.pdf")
      const elapsed = performance.now() - started
      expect(response.status).toBe(200)
      expect(elapsed).toBeLessThan(1_000)
      const body = await response.json() as Record<string, any>
      expect(body.status).toBe("pending")

      // test_status_endpoint_exists
      const unknown = await fetch(`${api.base}/result/test-job-id/status`)
      expect([200, 404]).toContain(unknown.status)
      expect(unknown.status).toBe(404)

      // test_result_endpoints_handle_pending
      const markdown = await fetch(`${api.base}/result/${body.job_id}/markdown`)
      expect(markdown.status).toBe(202)
      expect(await markdown.json()).toMatchObject({ job_id: body.job_id, status: "pending" })
    } finally {
      api.child.kill("SIGTERM")
      expect(await api.exited).toBe(0)
    }
    // the same data with a worker: the job that waited is processed
    const full = await start({ SCRIPTORIUM_DATA_DIR: data })
    try {
      const tasks = (await (await fetch(`${full.base}/tasks`)).json()) as Record<string, any>
      expect(tasks.count).toBe(1)
      const job = await poll(full.base, tasks.tasks[0].job_id, () => false)
      expect(job.status).toBe("completed")
    } finally {
      full.child.kill("SIGTERM")
      await full.exited
    }
  })
})

describe("seed 001's curl session, on the built server", () => {
  it("upload a born-digital PDF, poll until completed, fetch its markdown", async () => {
    const server = await start({ SCRIPTORIUM_DATA_DIR: dataDir("session") })
    try {
      const response = await upload(server.base, paper, "document.pdf")
      expect(response.status).toBe(200)
      const { job_id } = (await response.json()) as Record<string, any>
      let job: Record<string, any>
      for (;;) {
        job = await status(server.base, job_id)
        if (job.status === "completed" || job.status === "failed") break
        await sleep(100)
      }
      expect(job.status).toBe("completed")
      expect(job.processed_pages).toBe(job.total_pages)
      const markdown = await fetch(`${server.base}/result/${job_id}/markdown`)
      expect(markdown.status).toBe(200)
      const result = (await markdown.json()) as Record<string, any>
      expect(result).toMatchObject({ job_id, status: "completed" })
      expect(result.content).toContain("The Evolution of the Word Processor")
    } finally {
      server.child.kill("SIGTERM")
      expect(await server.exited).toBe(0)
    }
  })
})

describe("restarting the server in the middle of a job loses nothing", () => {
  /** Uploads the long document and waits until it is processing with some pages done, but not all. */
  const midJob = async (server: Running) => {
    const response = await upload(server.base, longDocument, "long.pdf")
    expect(response.status).toBe(200)
    const { job_id } = (await response.json()) as Record<string, any>
    const job = await poll(server.base, job_id, (j) => j.status === "processing" && j.processed_pages >= 1, 60_000, 10)
    expect(job.status).toBe("processing")
    expect(job.processed_pages).toBeGreaterThanOrEqual(1)
    expect(job.processed_pages).toBeLessThan(job.total_pages)
    return job
  }

  it("SIGTERM at any moment of the start exits cleanly (the OCR threads load their models meanwhile)", async () => {
    // onnxruntime aborted the process (SIGABRT) when a thread was torn down while creating a session, about 1 s in
    for (const ms of [0, 500, 1_000, 1_500]) {
      const server = await start({ SCRIPTORIUM_DATA_DIR: dataDir(`start-stop-${ms}`) })
      await sleep(ms)
      server.child.kill("SIGTERM")
      expect([ms, await server.exited]).toEqual([ms, 0])
    }
  }, 90_000)

  it("SIGTERM: the worker hands the job back, and it completes after the restart", async () => {
    const data = dataDir("sigterm")
    // no grace period: the job is handed back at once instead of being allowed to finish
    const env = { SCRIPTORIUM_DATA_DIR: data, SHUTDOWN_GRACE_SECONDS: "0" }
    const first = await start(env)
    const before = await midJob(first)
    first.child.kill("SIGTERM")
    expect(await first.exited).toBe(0)

    const second = await start(env)
    try {
      const seen: Array<Record<string, any>> = []
      const after = await poll(second.base, before.job_id, () => false, 120_000, 50, seen)
      expect(after.status).toBe("completed")
      expect(after.total_pages).toBe(before.total_pages)
      expect(after.processed_pages).toBe(after.total_pages)
      // resumed, not restarted: the pages finished before the restart stayed finished
      expect(seen[0]!.status).not.toBe("completed")
      for (const state of seen) expect(state.processed_pages).toBeGreaterThanOrEqual(before.processed_pages)
      // handed back at shutdown, not failed: the attempt was not counted
      expect(after.attempts).toBe(1)
      const markdown = (await (await fetch(`${second.base}/result/${before.job_id}/markdown`)).json()) as any
      expect(markdown.content.length).toBeGreaterThan(0)
    } finally {
      second.child.kill("SIGTERM")
      await second.exited
    }
  })

  it("kill -9: the lease expires, and the job completes after the restart", async () => {
    const data = dataDir("sigkill")
    const env = { SCRIPTORIUM_DATA_DIR: data, LEASE_SECONDS: "2" }
    const first = await start(env)
    const before = await midJob(first)
    first.child.kill("SIGKILL")
    expect(await first.exited).toBe("SIGKILL")

    const second = await start(env)
    try {
      const seen: Array<Record<string, any>> = []
      const after = await poll(second.base, before.job_id, () => false, 120_000, 50, seen)
      expect(after.status).toBe("completed")
      expect(after.processed_pages).toBe(after.total_pages)
      expect(seen[0]!.status).not.toBe("completed")
      for (const state of seen) expect(state.processed_pages).toBeGreaterThanOrEqual(before.processed_pages)
      // the crashed attempt counted: its lease expired
      expect(after.attempts).toBe(2)
    } finally {
      second.child.kill("SIGTERM")
      await second.exited
    }
  })
})

describe("configuration", () => {
  it("an invalid variable stops the start with a sentence naming it", async () => {
    for (const [variable, value] of [["PORT", "eighty"], ["MAX_UPLOAD_MB", "-5"], ["LEASE_SECONDS", "0"]]) {
      const child = spawn(process.execPath, [main], {
        cwd: root,
        env: { ...process.env, SCRIPTORIUM_DATA_DIR: dataDir("config"), [variable!]: value! },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stderr.on("data", (chunk) => output += String(chunk))
      const code = await new Promise((resolve) => child.once("exit", resolve))
      expect(code).toBe(1)
      const sentence = new RegExp(`^Scriptorium cannot start: ${variable} must be .*, but is '${value}'\\.$`)
      expect(output.trim()).toMatch(sentence)
    }
  })
})
