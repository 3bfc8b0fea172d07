/**
 * `serve`, then `submit`, `status`, `list` and `cancel` against it, all on the built binary, as a script would use
 * them: the server started with --port 0 answers /health; `submit --wait` follows a corpus PDF to `completed` with a
 * progress line per change; `--json` prints the API's job objects; a job cancelled while `submit --wait` follows it
 * ends that command with exit code 1; an unknown id exits 4; a wrong or missing token, or no server, exits 3.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { freePort, killAll, longPdf, run, type Running, slowPdf, smallPdf, start, tempDir } from "./cli.js"

// every test starts the binary, often several times; on a busy machine each start takes seconds
vi.setConfig({ testTimeout: 180_000 })

const token = "cli-test-token"
let server: Running
let base: string

beforeAll(async () => {
  server = start(["serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", tempDir("remote")], { AUTH_TOKEN: token })
  await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/)
  base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout())![1]!
})

afterAll(async () => {
  if (server !== undefined) {
    server.child.kill("SIGTERM")
    expect((await server.exited).code).toBe(0)
  }
  killAll()
})

/** Runs a remote command against the server, with the token as a flag. */
const remote = (...args: ReadonlyArray<string>) => run([...args, "--server", base, "--token", token])

/** Runs a remote command with the server and token taken from SCRIPTORIUM_URL and SCRIPTORIUM_TOKEN. */
const fromEnv = (...args: ReadonlyArray<string>) => run(args, { SCRIPTORIUM_URL: base, SCRIPTORIUM_TOKEN: token })

const lines = (text: string) => text.trim().split("\n")

describe("serve", () => {
  it("listens on the port it was given (0: a free one) and answers /health", async () => {
    const response = await fetch(`${base}/health`)
    expect(response.status).toBe(200)
    // the token is required elsewhere
    expect((await fetch(`${base}/tasks`)).status).toBe(401)
  })
})

describe("submit, status, list", () => {
  it("submit --wait follows the job to completed; status and list show it, as lines and as JSON", async () => {
    const submitted = await remote("submit", smallPdf, "--wait")
    expect(submitted.stderr).not.toContain("scriptorium:")
    expect(submitted.code).toBe(0)
    const [id, final] = lines(submitted.stdout)
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(final).toBe("completed")
    expect(submitted.stderr).toContain("docling_multi_page.pdf: completed 5/5 pages")

    const status = await fromEnv("status", id!)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`^${id}\\s+completed\\s+5/5 pages\\s+docling_multi_page\\.pdf\\n$`))

    const json = await fromEnv("status", id!, "--json")
    expect(json.code).toBe(0)
    const job = JSON.parse(json.stdout)
    expect(job).toMatchObject({ job_id: id, status: "completed", processed_pages: 5, total_pages: 5 })
    expect(job.status_url).toBe(`/v1/jobs/${id}`)

    const list = await fromEnv("list")
    expect(list.code).toBe(0)
    expect(lines(list.stdout).some((line) => line.startsWith(`${id}  completed`))).toBe(true)

    const completed = JSON.parse((await fromEnv("list", "--status", "completed", "--json")).stdout)
    expect(completed.jobs.map((j: { job_id: string }) => j.job_id)).toContain(id)
    const failed = JSON.parse((await fromEnv("list", "--status", "failed", "--json")).stdout)
    expect(failed.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(id)
  })

  it("submit --json prints the job at once, pending", async () => {
    const submitted = await remote("submit", smallPdf, "--json")
    expect(submitted.code).toBe(0)
    const job = JSON.parse(submitted.stdout)
    expect(job).toMatchObject({ status: "pending", filename: "docling_multi_page.pdf", async: true })
    expect(submitted.stderr).toBe("")
  })

  it("a file the server refuses exits 1 with the server's sentence", async () => {
    const notes = join(tempDir("remote-bad"), "notes.pdf")
    writeFileSync(notes, "plain text, not a PDF\n")
    const submitted = await remote("submit", notes)
    expect(submitted.code).toBe(1)
    expect(submitted.stderr).toContain("The file 'notes.pdf' is not a PDF")
    expect(submitted.stdout).toBe("")
  })
})

describe("cancel", () => {
  it("cancels a job; cancelling it again exits 1 because it already ended", async () => {
    const submitted = await remote("submit", longPdf)
    expect(submitted.code).toBe(0)
    const id = submitted.stdout.trim()
    const cancelled = await remote("cancel", id)
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout).toBe(`${id} cancelled\n`)
    expect(JSON.parse((await remote("status", id, "--json")).stdout).status).toBe("cancelled")
    const again = await remote("cancel", id)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`Job '${id}' is already cancelled`)
  })

  it("a job cancelled while submit --wait follows it ends that command with exit code 1", async () => {
    const waiting = start(["submit", slowPdf, "--wait", "--server", base, "--token", token])
    await waiting.waitFor(/mineru_small_ocr\.pdf: processing [1-9]\/8 pages/, 90_000)
    const id = lines(waiting.stdout())[0]!
    expect((await remote("cancel", id)).code).toBe(0)
    const ended = await waiting.exited
    expect(ended.code).toBe(1)
    expect(lines(ended.stdout)).toEqual([id, "cancelled"])
  })
})

describe("exit codes for scripts", () => {
  it("an unknown job id exits 4", async () => {
    for (const command of ["status", "cancel"]) {
      const ran = await remote(command, "no-such-job")
      expect([command, ran.code]).toEqual([command, 4])
      expect(ran.stderr).toContain("No job has the id 'no-such-job'")
    }
  })

  it("a wrong token, no token, or no server exits 3", async () => {
    const wrong = await run(["list", "--server", base, "--token", "not-the-token"])
    expect(wrong.code).toBe(3)
    expect(wrong.stderr).toContain("The bearer token is wrong")
    const missing = await run(["status", "some-id", "--server", base])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("This server requires a token")
    const nobody = await run(["list", "--server", `http://127.0.0.1:${await freePort()}`])
    expect(nobody.code).toBe(3)
    expect(nobody.stderr).toContain("could not be reached")
  })
})
