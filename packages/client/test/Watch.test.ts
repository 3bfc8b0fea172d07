/**
 * `watch` against real servers: over the WebSocket (the HTTP API and the WebSocket transport mounted on one
 * node:http server, as an application does), where every page arrives and no status request is made; and on a server
 * without the WebSocket route (the upgrade is answered 404), where it falls back to polling the status route, or,
 * with `pollFallback: false`, fails with ClientError. The WebSocket's refusals are the contract's errors.
 */
import { type Job, JobNotFound, Unauthorized } from "@scriptorium/api"
import { ClientError, createClient } from "@scriptorium/client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { paper, sleep, slowPages, startServer, type TestServer } from "./TestServer.js"

const token = "watch-token"

let withSocket: TestServer
let withoutSocket: TestServer

beforeAll(async () => {
  ;[withSocket, withoutSocket] = await Promise.all([
    startServer({ token, webSocket: true }),
    startServer({ token })
  ])
})

afterAll(async () => {
  await Promise.all([withSocket?.close(), withoutSocket?.close()])
})

const collect = async (jobs: AsyncIterable<Job>): Promise<Array<Job>> => {
  const seen: Array<Job> = []
  for await (const job of jobs) seen.push(job)
  return seen
}

const statusRequests = (server: TestServer, id: string) =>
  server.requests.filter((request) => request.startsWith(`GET /result/${id}/status`)).length

/** Checks a whole lifecycle as watched: changes only, pages going up, ending completed with every page. */
const expectLifecycle = (seen: ReadonlyArray<Job>, id: string) => {
  expect(seen.length).toBeGreaterThanOrEqual(2)
  expect(seen.every((job) => job.job_id === id)).toBe(true)
  expect(seen.at(-1)).toMatchObject({ status: "completed", processed_pages: slowPages, total_pages: slowPages })
  for (let index = 1; index < seen.length; index++) {
    expect(seen[index]!.processed_pages).toBeGreaterThanOrEqual(seen[index - 1]!.processed_pages)
  }
  expect(seen.slice(0, -1).every((job) => job.status !== "completed")).toBe(true)
}

describe("watch over the WebSocket", () => {
  it("streams a job's whole lifecycle, every page, without polling", async () => {
    const client = createClient({ baseUrl: withSocket.baseUrl, token })
    const { job_id } = await client.processPdf("slow-watch.pdf", paper)
    const seen = await collect(client.watch(job_id))
    expectLifecycle(seen, job_id)
    const pages = new Set(seen.map((job) => job.processed_pages))
    for (let page = 0; page <= slowPages; page++) expect(pages).toContain(page)
    expect(statusRequests(withSocket, job_id)).toBe(0)
  })

  it("gives a late watcher the final state at once and ends", async () => {
    const client = createClient({ baseUrl: withSocket.baseUrl, token })
    const { job_id } = await client.processPdf("late.pdf", paper)
    await client.waitForCompletion(job_id, { initialDelayMs: 50 })
    const seen = await collect(client.watch(job_id))
    expect(seen.map((job) => job.status)).toEqual(["completed"])
  })

  it("ends with the cancelled status when the job is cancelled while watched", async () => {
    const client = createClient({ baseUrl: withSocket.baseUrl, token })
    const { job_id } = await client.processPdf("hold-watch.pdf", paper)
    const seen: Array<Job> = []
    for await (const job of client.watch(job_id)) {
      seen.push(job)
      if (job.status === "processing") await withSocket.facade((scriptorium) => scriptorium.cancel(job_id))
    }
    expect(seen.at(-1)?.status).toBe("cancelled")
    expect(statusRequests(withSocket, job_id)).toBe(0)
  })

  it("ends when the job is deleted while watched: with its cancelled status, or JobNotFound (close 4410)", async () => {
    const client = createClient({ baseUrl: withSocket.baseUrl, token })
    const { job_id } = await client.processPdf("hold-delete.pdf", paper)
    const seen: Array<Job> = []
    const outcome = await (async () => {
      for await (const job of client.watch(job_id)) {
        seen.push(job)
        if (job.status === "processing") await withSocket.facade((scriptorium) => scriptorium.delete(job_id))
      }
    })().catch((error: unknown) => error)
    // deleting a running job cancels it first; the socket may carry that last status before the deletion closes it
    if (outcome === undefined) expect(seen.at(-1)?.status).toBe("cancelled")
    else expect(outcome).toBeInstanceOf(JobNotFound)
    expect(statusRequests(withSocket, job_id)).toBe(0)
  })

  it("rejects an unknown job with JobNotFound and a wrong token with Unauthorized", async () => {
    const unknown = collect(createClient({ baseUrl: withSocket.baseUrl, token }).watch("no-such-job"))
    await expect(unknown).rejects.toBeInstanceOf(JobNotFound)
    await expect(unknown).rejects.toMatchObject({ job_id: "no-such-job" })
    const wrong = collect(createClient({ baseUrl: withSocket.baseUrl, token: "wrong" }).watch("no-such-job"))
    await expect(wrong).rejects.toBeInstanceOf(Unauthorized)
    await expect(wrong).rejects.toMatchObject({ reason: "wrong" })
  })

  it("closes the socket when the caller stops reading early", async () => {
    const client = createClient({ baseUrl: withSocket.baseUrl, token })
    const { job_id } = await client.processPdf("hold-early.pdf", paper)
    for await (const job of client.watch(job_id)) {
      expect(job.job_id).toBe(job_id)
      expect(withSocket.sockets()).toBe(1)
      break
    }
    const deadline = Date.now() + 2_000
    while (withSocket.sockets() > 0 && Date.now() < deadline) await sleep(10)
    expect(withSocket.sockets()).toBe(0)
    await withSocket.facade((scriptorium) => scriptorium.cancel(job_id))
  })
})

describe("watch without the WebSocket route", () => {
  it("falls back to polling the status route, and still sees the whole lifecycle", async () => {
    const client = createClient({ baseUrl: withoutSocket.baseUrl, token })
    const { job_id } = await client.processPdf("slow-fallback.pdf", paper)
    const seen = await collect(client.watch(job_id))
    expectLifecycle(seen, job_id)
    expect(statusRequests(withoutSocket, job_id)).toBeGreaterThanOrEqual(2)
  })

  it("with pollFallback false, fails with ClientError saying the socket is unavailable", async () => {
    const client = createClient({ baseUrl: withoutSocket.baseUrl, token })
    const { job_id } = await client.processPdf("no-fallback.pdf", paper)
    const error = await collect(client.watch(job_id, { pollFallback: false })).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(ClientError)
    expect((error as ClientError).reason).toContain("404")
  })

  it("an unknown job still rejects with JobNotFound, from the status route", async () => {
    const client = createClient({ baseUrl: withoutSocket.baseUrl, token })
    await expect(collect(client.watch("no-such-job"))).rejects.toBeInstanceOf(JobNotFound)
  })
})
