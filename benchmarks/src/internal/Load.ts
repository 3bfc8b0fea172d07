/**
 * A closed-loop HTTP load generator for the benchmarks, and the child process it runs in. `concurrency` clients, each
 * on a keep-alive connection of its own (one node:http Agent, maxSockets = concurrency), send a request, read the
 * whole response, and send the next, until `requests` have been started or `durationMs` has passed (whichever comes
 * first); each request's latency is taken with `process.hrtime.bigint()` from just before it is sent to the end of its
 * response body. Only 127.0.0.1 is ever contacted.
 *
 * `LoadProcess.start()` forks `load-child.js` (which runs `generate`), so the load comes from a process of its own and
 * never shares an event loop with the server it measures; one child serves several runs (it stays warm).
 */
import { type ChildProcess, fork } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { fileURLToPath } from "node:url"
import { percentile } from "./Stats.js"

/** A file uploaded as the `file` field of a multipart/form-data body, built once and sent with every request. */
export interface MultipartFile {
  readonly path: string
  readonly field: string
  readonly filename: string
  readonly contentType: string
}

/** One load run. */
export interface LoadSpec {
  /** Port on 127.0.0.1. */
  readonly port: number
  readonly method: "GET" | "POST"
  /** Request paths, taken in turn (request i gets `paths[i % length]`). */
  readonly paths: ReadonlyArray<string>
  /** The body of every request, when there is one. */
  readonly multipart?: MultipartFile | undefined
  /** Clients, each with one request in flight at a time. */
  readonly concurrency: number
  /** Stop starting requests after this many; default: no count limit. */
  readonly requests?: number | undefined
  /** Stop starting requests after this long (always bounded). */
  readonly durationMs: number
  /** A request without its whole response after this long is abandoned and counted as an error. */
  readonly timeoutMs: number
}

/** What a run measured. */
export interface LoadResult {
  /** Requests answered (whatever their status), and their latencies' summary. */
  readonly completed: number
  /** Requests that got no complete response (connection error, timeout). */
  readonly errors: number
  readonly firstError: string | undefined
  /** Responses by status code. */
  readonly statuses: Readonly<Record<string, number>>
  /** From the first request sent to the last response read. */
  readonly elapsedMs: number
  /** completed / elapsed. */
  readonly perSecond: number
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  /** Bytes of one request body (0 without one). */
  readonly requestBytes: number
  /** The body of the first response, for a look at what the server answered. */
  readonly sampleBody: string
}

const boundary = "----scriptorium-bench-7d1f0c9a"

/** The multipart body carrying the file. */
export const multipartBody = (file: MultipartFile): Buffer =>
  Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`
    ),
    readFileSync(file.path),
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])

/** Runs one load run in this process (the child's job; see `LoadProcess` to run it from elsewhere). */
export const generate = async (spec: LoadSpec): Promise<LoadResult> => {
  if (spec.paths.length === 0) throw new Error("A load run needs at least one path")
  const concurrency = Math.max(1, Math.floor(spec.concurrency))
  const maxRequests = spec.requests === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(spec.requests))
  const body = spec.multipart === undefined ? undefined : multipartBody(spec.multipart)
  const headers: Record<string, string | number> = body === undefined ? {} : {
    "content-type": `multipart/form-data; boundary=${boundary}`,
    "content-length": body.length
  }
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })

  const latencies: Array<number> = []
  const statuses: Record<string, number> = {}
  let errors = 0
  let firstError: string | undefined
  let sampleBody: string | undefined
  let started = 0
  let lastEnd = 0n

  const one = (index: number) =>
    new Promise<void>((resolve) => {
      let settled = false
      const begin = process.hrtime.bigint()
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        errors++
        firstError ??= error.message
        resolve()
      }
      const req = request(
        {
          host: "127.0.0.1",
          port: spec.port,
          path: spec.paths[index % spec.paths.length],
          method: spec.method,
          agent,
          headers
        },
        (res) => {
          const keep = sampleBody === undefined
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => {
            if (keep) chunks.push(chunk)
          })
          res.on("error", fail)
          res.on("end", () => {
            if (settled) return
            settled = true
            const end = process.hrtime.bigint()
            latencies.push(Number(end - begin) / 1e6)
            if (end > lastEnd) lastEnd = end
            const code = String(res.statusCode ?? 0)
            statuses[code] = (statuses[code] ?? 0) + 1
            if (keep && sampleBody === undefined) sampleBody = Buffer.concat(chunks).toString("utf8")
            resolve()
          })
        }
      )
      req.setTimeout(spec.timeoutMs, () => req.destroy(new Error(`no complete response in ${spec.timeoutMs} ms`)))
      req.on("error", fail)
      req.end(body)
    })

  const t0 = process.hrtime.bigint()
  const stopAt = t0 + BigInt(Math.round(spec.durationMs * 1e6))
  const client = async () => {
    while (started < maxRequests && process.hrtime.bigint() < stopAt) await one(started++)
  }
  await Promise.all(Array.from({ length: concurrency }, client))
  agent.destroy()

  const elapsedMs = Number((lastEnd > t0 ? lastEnd : process.hrtime.bigint()) - t0) / 1e6
  latencies.sort((a, b) => a - b)
  return {
    completed: latencies.length,
    errors,
    firstError,
    statuses,
    elapsedMs,
    perSecond: elapsedMs > 0 ? latencies.length / (elapsedMs / 1_000) : 0,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? Number.NaN
    },
    requestBytes: body?.length ?? 0,
    sampleBody: sampleBody ?? ""
  }
}

/** Messages from the parent to the load child. */
export type ToLoad = { readonly type: "run"; readonly id: number; readonly spec: LoadSpec }

/** Messages from the load child to its parent. */
export type FromLoad =
  | { readonly type: "ready" }
  | { readonly type: "result"; readonly id: number; readonly result: LoadResult }
  | { readonly type: "failed"; readonly id: number; readonly message: string }

/** A load generator in a child process. */
export interface LoadProcess {
  /** Runs one load run in the child; rejects if the run fails or the child dies. */
  readonly run: (spec: LoadSpec) => Promise<LoadResult>
  readonly pid: number
  readonly stop: () => Promise<void>
}

const childScript = fileURLToPath(new URL("./load-child.js", import.meta.url))

/** Forks the load child and waits until it is ready. */
export const start = (): Promise<LoadProcess> =>
  new Promise((resolve, reject) => {
    const proc: ChildProcess = fork(childScript, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>()
    let nextId = 0
    let exited = false
    const done = new Promise<void>((ok) =>
      proc.once("exit", (code, signal) => {
        exited = true
        const error = new Error(`The load generator process exited (${signal ?? code})`)
        for (const w of waiting.values()) w.reject(error)
        waiting.clear()
        reject(error)
        ok()
      })
    )
    proc.on("message", (message: FromLoad) => {
      if (message.type === "ready") {
        resolve({
          pid: proc.pid!,
          run: (spec) =>
            new Promise((ok, fail) => {
              if (exited) return fail(new Error("The load generator process has exited"))
              const id = ++nextId
              waiting.set(id, { resolve: ok, reject: fail })
              proc.send({ type: "run", id, spec } satisfies ToLoad)
            }),
          stop: async () => {
            if (exited) return
            proc.disconnect()
            const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000)
            await done
            clearTimeout(timer)
          }
        })
        return
      }
      const w = waiting.get(message.id)
      waiting.delete(message.id)
      if (message.type === "result") w?.resolve(message.result)
      else w?.reject(new Error(`A load run failed: ${message.message}`))
    })
  })
