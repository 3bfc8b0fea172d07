/**
 * `scriptorium worker` beside an API-only `serve` on the same data folder, on the built binaries: the job submitted
 * to the API (which runs no worker) is processed by the worker process, and SIGTERM stops the worker with exit code 0.
 * A worker that would take no job, and a server whose port is taken, are usage errors (exit 2).
 */
import { createServer } from "node:net"
import { afterAll, describe, expect, it, vi } from "vitest"
import { killAll, run, smallPdf, start, tempDir } from "./cli.js"

// every test starts the binary, often several times; on a busy machine each start takes seconds
vi.setConfig({ testTimeout: 180_000 })

afterAll(killAll)

describe("scriptorium worker", () => {
  it("processes the jobs of an API-only server on the same data folder, and stops on SIGTERM with 0", async () => {
    const data = tempDir("worker")
    const api = start(["serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", data], { WORKER_CONCURRENCY: "0" })
    await api.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/)
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(api.stdout())![1]!
    const worker = start(["worker", "--data-dir", data])
    try {
      await worker.waitFor("Scriptorium worker running: 1 job(s) at a time")
      const submitted = await run(["submit", smallPdf, "--wait", "--json", "--server", base])
      expect(submitted.code).toBe(0)
      const job = JSON.parse(submitted.stdout)
      expect(job).toMatchObject({ status: "completed", processed_pages: 5 })
      const stoppedAt = Date.now()
      worker.child.kill("SIGTERM")
      const ended = await worker.exited
      expect(ended.code).toBe(0)
      expect(Date.now() - stoppedAt).toBeLessThan(15_000)
    } finally {
      api.child.kill("SIGTERM")
      expect((await api.exited).code).toBe(0)
    }
  })

  it("a worker with no concurrency is a usage error", async () => {
    const ran = await run(["worker", "--data-dir", tempDir("worker-zero")], { WORKER_CONCURRENCY: "0" })
    expect(ran.code).toBe(2)
    expect(ran.stderr).toContain("WORKER_CONCURRENCY is 0, so this worker would take no job")
  })
})

describe("scriptorium serve", () => {
  it("a port that is taken is a usage error that says so", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const ran = await run(["serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", tempDir("taken")])
      expect(ran.code).toBe(2)
      expect(ran.stderr).toContain(`cannot listen on 127.0.0.1:${port}`)
    } finally {
      taken.close()
    }
  })
})
