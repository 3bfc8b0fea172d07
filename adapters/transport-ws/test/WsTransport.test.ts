/**
 * WsTransport on a real node:http server on a free port, over SQLite and a local folder in a temp dir, with a real
 * Worker in this process running core's scenario handler: the real document pipeline on a corpus PDF, except for
 * files whose name asks for another course. Here `hold-*` reads 5 pages' worth of progress (2 pages done) then stays
 * processing until cancelled, `fail-*` fails for good. Clients are real `ws` sockets; the server requires a token.
 */
import { Job } from "@scriptorium/api"
import { Scriptorium } from "@scriptorium/core"
import { makeScenarioHandler, scenarioEngine } from "@scriptorium/core/testing"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Context, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, eventually, type Message, refusal, serve, type Served } from "./Sockets.js"

const corpus = join(import.meta.dirname, "../../../../shared/corpus")
const digitalPdf = new Uint8Array(readFileSync(join(corpus, "pdfs-digital/docling_multi_page.pdf")))
const token = "ws-s3cret"
const auth = { authorization: `Bearer ${token}` }

const dataDir = mkdtempSync(join(tmpdir(), "scriptorium-ws-"))
const core = scenarioEngine(
  Layer.merge(
    SqliteJobStore.layer({ filename: join(dataDir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dataDir, "blobs") })
  ),
  makeScenarioHandler({ heldAfter: 2 }).handler
)

class Server extends Context.Tag("test/Server")<Server, Served>() {}
const runtime = ManagedRuntime.make(Layer.scoped(Server, serve({ authToken: token })).pipe(Layer.provideMerge(core)))

let url = ""
beforeAll(async () => {
  url = (await runtime.runPromise(Server)).url
})
afterAll(() => runtime.dispose())

const facade = <A, E>(f: (s: Scriptorium.Scriptorium) => Effect.Effect<A, E>) =>
  runtime.runPromise(Effect.flatMap(Scriptorium.Scriptorium, f))
const submit = (filename: string, content: Uint8Array = digitalPdf) => facade((s) => s.submit({ filename, content }))
/** The job as `GET /result/{id}/status` answers it. */
const statusJson = async (id: string) => JSON.parse(JSON.stringify(Schema.encodeSync(Job)(await facade((s) => s.status(id)))))
const progress = (m: Message) => `${m.status}:${m.processed_pages}/${m.total_pages}`

describe("WS /ws/{job_id}", () => {
  it("sends every change of a whole job on the real pipeline, the status JSON exactly, then closes 1000", async () => {
    // a socket on every job, opened before the submission, sees the job from its creation
    const everything = connect(`${url}/ws`, auth)
    await everything.opened
    const job = await submit("multi_page.pdf")
    const watcher = connect(`${url}/ws/${job.job_id}`, auth)
    const closed = await watcher.closed
    expect(closed).toEqual({ code: 1000, reason: "The job is completed; this was its last status." })

    const final = await statusJson(job.job_id)
    expect(final.status).toBe("completed")
    expect(final.total_pages).toBe(5)
    // every message is the status JSON; the last one is exactly what the status route answers now
    expect(watcher.messages.at(-1)).toEqual(final)
    for (const message of watcher.messages) expect(Object.keys(message).sort()).toEqual(Object.keys(final).sort())

    await eventually(() => everything.messages.some((m) => m.job_id === job.job_id && m.status === "completed"))
    const lifecycle = everything.messages.filter((m) => m.job_id === job.job_id).map(progress)
    // created (the admission check counted the pages), claimed, each page, completed: each once, in order (the
    // pipeline recording the page count again says nothing new, so it is not sent)
    expect(lifecycle).toEqual([
      "pending:0/5",
      "processing:0/5",
      "processing:1/5",
      "processing:2/5",
      "processing:3/5",
      "processing:4/5",
      "processing:5/5",
      "completed:5/5"
    ])
    // the job's own socket got its state at connection, then every later change: a tail of the same sequence
    const own = watcher.messages.map(progress)
    expect(own.length).toBeGreaterThanOrEqual(1)
    expect(lifecycle.slice(lifecycle.length - own.length)).toEqual(own)
    everything.socket.close()
  })

  it("a late subscriber gets the current state first, then the changes (here: cancelled), then 1000", async () => {
    const job = await submit("hold-late.pdf", digitalPdf)
    // wait until the job is mid-way (2 of 5 pages), then connect
    const started = Date.now()
    while ((await statusJson(job.job_id)).processed_pages < 2) {
      if (Date.now() - started > 20_000) throw new Error("the hold job never progressed")
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const late = connect(`${url}/ws/${job.job_id}`, auth)
    const [first] = await late.received(1)
    expect(first).toEqual(await statusJson(job.job_id))
    expect(progress(first!)).toBe("processing:2/5")
    await facade((s) => s.cancel(job.job_id))
    expect(await late.closed).toEqual({ code: 1000, reason: "The job is cancelled; this was its last status." })
    expect(late.messages.map(progress)).toEqual(["processing:2/5", "cancelled:2/5"])
  })

  it("deleting a watched running job: the socket hears it cancelled (the delete cancels first), then 1000", async () => {
    const job = await submit("hold-delete.pdf")
    const watcher = connect(`${url}/ws/${job.job_id}`, auth)
    await eventually(() => watcher.messages.some((m) => m.processed_pages === 2), 20_000, "the job to progress")
    await facade((s) => s.delete(job.job_id))
    expect((await watcher.closed).code).toBe(1000)
    expect(watcher.messages.at(-1)!.status).toBe("cancelled")
  })

  it("a subscriber to a finished job gets its final state and 1000 at once", async () => {
    const job = await submit("fail-late.pdf")
    await facade((s) => s.wait(job.job_id, { timeoutMs: 20_000 }))
    const late = connect(`${url}/ws/${job.job_id}`, auth)
    expect((await late.closed).code).toBe(1000)
    expect(late.messages).toEqual([await statusJson(job.job_id)])
    expect(late.messages[0]!.error_message).toBe("The page 1 could not be rendered.")
  })

  it("an unknown job closes 4404 with a reason naming the id", async () => {
    const client = connect(`${url}/ws/no-such-job`, auth)
    await client.opened
    expect(await client.closed).toEqual({ code: 4404, reason: "No job has the id 'no-such-job'." })
    expect(client.messages).toEqual([])
  })
})

describe("WS /ws", () => {
  it("?status=completed sends only the changes that complete a job", async () => {
    const completed = connect(`${url}/ws?status=completed`, auth)
    await completed.opened
    const failing = await submit("fail-filter.pdf")
    const good = await submit("filter.pdf")
    await facade((s) => Effect.zip(s.wait(failing.job_id), s.wait(good.job_id), { concurrent: true }))
    await eventually(() => completed.messages.some((m) => m.job_id === good.job_id), 5_000, "the completion")
    // give a wrongly sent failure the time to arrive too
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(completed.messages.every((m) => m.status === "completed")).toBe(true)
    expect(completed.messages.filter((m) => m.job_id === good.job_id)).toEqual([await statusJson(good.job_id)])
    expect(completed.messages.some((m) => m.job_id === failing.job_id)).toBe(false)
    completed.socket.close()
  })

  it("a status that is not one closes 4400 saying which", async () => {
    const client = connect(`${url}/ws?status=finished`, auth)
    const closed = await client.closed
    expect(closed.code).toBe(4400)
    expect(closed.reason).toContain("'finished' is not a job status")
  })
})

describe("authentication", () => {
  it("no token: 401 before the upgrade, in the contract's error shape", async () => {
    const refused = await refusal(`${url}/ws/anything`)
    expect(refused.status).toBe(401)
    expect(refused.headers["content-type"]).toBe("application/json")
    expect(refused.body).toEqual({
      error: "Unauthorized",
      reason: "missing",
      message: "This server requires a token: send the header 'Authorization: Bearer <token>'.",
      detail: "This server requires a token: send the header 'Authorization: Bearer <token>'."
    })
  })

  it("a wrong token, in the header or the query: 401 before the upgrade", async () => {
    for (const refused of [
      await refusal(`${url}/ws`, { authorization: "Bearer not-it" }),
      await refusal(`${url}/ws?token=not-it`)
    ]) {
      expect(refused.status).toBe(401)
      expect(refused.body.error).toBe("Unauthorized")
      expect(refused.body.reason).toBe("wrong")
    }
  })

  it("the token as ?token= (for browsers) is accepted", async () => {
    const job = await submit("fail-token.pdf")
    await facade((s) => s.wait(job.job_id))
    const client = connect(`${url}/ws/${job.job_id}?token=${encodeURIComponent(token)}`)
    expect((await client.closed).code).toBe(1000)
    expect(client.messages.map((m) => m.status)).toEqual(["failed"])
  })

  it("an upgrade to a path the transport does not serve is 404 (it is the server's only upgrade listener)", async () => {
    const refused = await refusal(`${url}/elsewhere`, auth)
    expect(refused.status).toBe(404)
    expect(refused.body.error).toBe("RouteNotFound")
  })
})
