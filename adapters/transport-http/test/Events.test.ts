/**
 * `GET /result/{id}/events` through real HTTP: a job's status as Server-Sent Events, from a real Worker running the
 * real pipeline (see support/TestStack.ts), read by Node's fetch as a browser's EventSource would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  digitalPdf,
  expectError,
  holds,
  json,
  jobFields,
  readSse,
  type SseMessage,
  type Stack,
  start,
  submitFile,
  token,
  waitFor
} from "./support/TestStack.js"

const keepaliveMs = 300
let stack: Stack

beforeAll(async () => {
  stack = await start({ maxUploadBytes: 4 * 1024 * 1024, sseKeepaliveMs: keepaliveMs })
})

afterAll(async () => {
  await stack?.stop()
})

const events = (id: string, base = stack.open, headers: Record<string, string> = {}) =>
  fetch(`${base}/result/${id}/events`, { headers })

const statuses = (messages: ReadonlyArray<SseMessage>) =>
  messages.filter((m) => m.event === "status").map((m) => JSON.parse(m.data) as Record<string, any>)

const endsWithEnd = (messages: ReadonlyArray<SseMessage>) => messages.at(-1)?.event === "end"

describe("GET /result/{id}/events", () => {
  it("streams a whole lifecycle: the current state first, every change, the completed status, then end", async () => {
    const id = await submitFile(stack.open, digitalPdf, "lifecycle.pdf")
    const response = await events(id)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    expect(response.headers.get("cache-control")).toBe("no-cache")
    const { messages, ended } = await readSse(response)
    expect(ended).toBe(true)
    const real = messages.filter((m) => m.event !== ":comment")
    expect(real.at(-1)?.event).toBe("end")
    expect(real.slice(0, -1).every((m) => m.event === "status")).toBe(true)
    const jobs = statuses(real)
    // the first message is the state at connection: pending or already processing
    expect(["pending", "processing"]).toContain(jobs[0]!.status)
    expect(jobs.at(-1)).toMatchObject({ job_id: id, status: "completed", total_pages: 5, processed_pages: 5 })
    // each page processed is a change of its own
    const pages = jobs.filter((job) => job.status === "processing").map((job) => job.processed_pages)
    expect(pages.length).toBeGreaterThanOrEqual(2)
    expect([...pages].sort((a, b) => a - b)).toEqual(pages)
    // the same JSON as GET /result/{id}/status
    for (const job of jobs) expect(Object.keys(job)).toEqual(jobFields)
    const status = await json(await fetch(`${stack.open}/result/${id}/status`))
    expect(jobs.at(-1)).toEqual(status)
    expect(JSON.parse(real.at(-1)!.data)).toEqual(status)
  })

  it("a late subscriber to a finished job gets its state and end at once", async () => {
    const id = await submitFile(stack.open, digitalPdf, "late.pdf")
    await waitFor(stack.open, id, (job) => job.status === "completed")
    const started = performance.now()
    const { messages, ended } = await readSse(await events(id))
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(ended).toBe(true)
    expect(messages.map((m) => m.event)).toEqual(["status", "end"])
    expect(statuses(messages)[0]).toMatchObject({ job_id: id, status: "completed" })
  })

  it("sends keepalive comments while nothing changes, and ends with cancelled when the job is cancelled", async () => {
    const id = await submitFile(stack.open, digitalPdf, "hold-events.pdf")
    await waitFor(stack.open, id, (job) => job.status === "processing" && job.processed_pages === 1)
    const response = await events(id)
    const reading = readSse(response)
    await new Promise((resolve) => setTimeout(resolve, keepaliveMs * 3.5))
    const cancelledAt = Date.now()
    expect((await fetch(`${stack.open}/v1/jobs/${id}`, { method: "DELETE" })).status).toBe(204)
    const { messages, ended } = await reading
    expect(ended).toBe(true)
    expect(Date.now() - cancelledAt).toBeLessThan(1_000)
    const comments = messages.filter((m) => m.event === ":comment")
    expect(comments.length).toBeGreaterThanOrEqual(2)
    expect(comments.every((m) => m.data === "keepalive")).toBe(true)
    const jobs = statuses(messages)
    expect(jobs[0]).toMatchObject({ status: "processing", processed_pages: 1 })
    expect(jobs.at(-1)).toMatchObject({ status: "cancelled" })
    expect(endsWithEnd(messages)).toBe(true)
    // the job's work stopped
    const progress = holds.get(id)!
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(progress.stoppedAt).toBeDefined()
    expect(progress.stoppedAt! - cancelledAt).toBeLessThan(1_000)
  })

  it("an unknown id: 404 JobNotFound as JSON, no stream", async () => {
    const response = await events("no-such-job")
    expect(response.headers.get("content-type")).not.toContain("text/event-stream")
    await expectError(response, 404, "JobNotFound", { job_id: "no-such-job" })
  })

  it("a client that goes away is let go; the server keeps streaming to others", async () => {
    const id = await submitFile(stack.open, digitalPdf, "hold-leave.pdf")
    await waitFor(stack.open, id, (job) => job.status === "processing")
    const controller = new AbortController()
    const leaving = await fetch(`${stack.open}/result/${id}/events`, { signal: controller.signal })
    const first = await readSse(leaving, (messages) => messages.some((m) => m.event === "status"))
    expect(first.ended).toBe(false)
    controller.abort()
    const staying = await events(id)
    const reading = readSse(staying)
    await fetch(`${stack.open}/v1/jobs/${id}`, { method: "DELETE" })
    const { messages } = await reading
    expect(statuses(messages).at(-1)?.status).toBe("cancelled")
    expect(endsWithEnd(messages)).toBe(true)
  })

  it("needs the token when one is set: 401 without it, the stream with it", async () => {
    await expectError(await events("some-id", stack.secured), 401, "Unauthorized", { reason: "missing" })
    await expectError(await events("some-id", stack.secured, { authorization: "Bearer wrong" }), 401, "Unauthorized", {
      reason: "wrong"
    })
    const headers = { authorization: `Bearer ${token}` }
    const form = new FormData()
    form.append("file", new Blob([new Uint8Array(digitalPdf)], { type: "application/pdf" }), "secured.pdf")
    const submitted = await fetch(`${stack.secured}/v1/jobs`, { method: "POST", body: form, headers })
    expect(submitted.status).toBe(202)
    const { job_id } = await json(submitted)
    const response = await events(job_id, stack.secured, headers)
    expect(response.status).toBe(200)
    const { messages, ended } = await readSse(response)
    expect(ended).toBe(true)
    expect(statuses(messages).at(-1)?.status).toBe("completed")
  })
})
