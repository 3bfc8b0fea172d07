/**
 * The HTTP API's figures, measured on the real standalone server (`examples/server/dist/main.js`, started as a child
 * process on 127.0.0.1 with a fresh data folder and its defaults: SQLite, local files, the PDF admission check on)
 * by a load generator in another child process (`internal/Load.ts`: node:http, keep-alive, closed loop).
 *
 * - Uploads: `POST /process_pdf` of a ~1 MB born-digital PDF (default: the corpus's `pdfjs_tracemonkey.pdf`, 14 pages,
 *   992 KiB), as multipart like `curl -F file=@...`. Latency p50/p90/p99/max and uploads/s, from 1 client (the cost
 *   of one upload), 50 clients sending one upload each at the same moment (one wave), and 50 clients each uploading
 *   again as soon as answered (sustained: 500 uploads). Twice: WORKER_CONCURRENCY=0 (API only) and the default (1 job
 *   processed at a time, competing with the API for the CPU). Each run a fresh server, warmed up first. Beside them,
 *   in the same runs, the floor: a bare node:http server (`internal/bare-server.ts`) that reads each upload's body
 *   whole and answers a constant, under the same three loads.
 * - Status polling: `GET /result/{id}/status` of one completed job from 64 keep-alive clients for 5 s, side by side
 *   with a bare node:http server (`internal/bare-server.ts`) answering the very same bytes; requests/s of each and
 *   the ratio. The runs alternate (Scriptorium, bare, Scriptorium, ...), after a warm-up of each.
 *
 * Each figure is the median of R runs (default 3). Progress on stderr, a markdown table on stdout. The machine has
 * 2 cores: the server, its pdf.js threads and the load generator share them, so the table also gives the CPU each
 * process used (100% = one core) during the measured window.
 *
 * Before an upload run's warm-up the server is left to settle (it loads its OCR models in threads for seconds after
 * it listens), and, API only, again after it, so the CPU measured is the uploads'.
 *
 * Run: `npm run bench:http` (about 2 minutes on 2 cores; `--quick`: about 25 s), or after `npx tsc -b`:
 *   node benchmarks/dist/http.js [--quick] [--repeats R] [--only uploads,status] [--file PDF] [--uploads N]
 *                                [--clients N] [--status-clients N] [--status-seconds S] [--profile DIR]
 *                                [--workers 0,default] [--server MAIN.js] [--compare OTHER/MAIN.js]
 * `--profile DIR` runs the server under `node --cpu-prof` (first run of each configuration) and prints where its
 * time went. `--compare` measures another build of the server (e.g. a checkout of an older commit, built) beside
 * this one, their upload runs alternating, so both see the same machine; `--workers` picks the configurations.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { fork } from "node:child_process"
import { request } from "node:http"
import { loadavg, tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as CpuProfile from "./internal/CpuProfile.js"
import * as Load from "./internal/Load.js"
import { runMain } from "./internal/Main.js"
import type { FromBare, ToBare } from "./internal/bare-server.js"
import { cpuSeconds, type ServerProcess, startServer } from "./internal/ServerProcess.js"
import { fmt, machineLine, median, ms, nowMs, positive, withRange } from "./internal/Stats.js"

// ---------------------------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string" },
    only: { type: "string" },
    file: { type: "string" },
    uploads: { type: "string" },
    clients: { type: "string" },
    "status-clients": { type: "string" },
    "status-seconds": { type: "string" },
    profile: { type: "string" },
    server: { type: "string" },
    compare: { type: "string" },
    workers: { type: "string" },
    help: { type: "boolean", default: false }
  }
})

const usage =
  "node benchmarks/dist/http.js [--quick] [--repeats R] [--only uploads,status] [--file PDF] [--uploads N]\n" +
  "                             [--clients N] [--status-clients N] [--status-seconds S] [--profile DIR]\n" +
  "                             [--workers 0,default] [--server MAIN.js] [--compare OTHER/MAIN.js]\n" +
  "  --server: the server script to measure (default examples/server/dist/main.js)\n" +
  "  --compare: another build of it (e.g. an older checkout's); its upload runs alternate with the server's\n" +
  "  --workers: the WORKER_CONCURRENCY configurations of the upload runs (default 0,default)\n"

if (flags.help) {
  process.stdout.write(usage)
  process.exit(0)
}

const quick = flags.quick
const defaultFile = fileURLToPath(new URL("../../../shared/corpus/pdfs-digital/pdfjs_tracemonkey.pdf", import.meta.url))
const options = {
  repeats: Math.floor(positive("--repeats", flags.repeats, quick ? 1 : 3)),
  file: resolve(flags.file ?? defaultFile),
  /** Concurrent upload clients. */
  clients: Math.floor(positive("--clients", flags.clients, 50)),
  /** Uploads of a sustained run. */
  uploads: Math.floor(positive("--uploads", flags.uploads, quick ? 100 : 500)),
  /** Uploads of the one-client run. */
  serialUploads: quick ? 10 : 40,
  warmupUploads: quick ? 10 : 20,
  statusClients: Math.floor(positive("--status-clients", flags["status-clients"], 64)),
  statusMs: positive("--status-seconds", flags["status-seconds"], quick ? 2 : 5) * 1_000,
  statusWarmupMs: quick ? 500 : 1_500,
  profileDir: flags.profile === undefined ? undefined : resolve(flags.profile),
  server: flags.server === undefined ? undefined : resolve(flags.server),
  compare: flags.compare === undefined ? undefined : resolve(flags.compare),
  workers: new Set((flags.workers ?? "0,default").split(",").map((s) => s.trim()).filter(Boolean)),
  only: new Set((flags.only ?? "uploads,status").split(",").map((s) => s.trim()).filter(Boolean))
}
for (const name of options.only) {
  if (name !== "uploads" && name !== "status") {
    process.stderr.write(`--only takes uploads and status; got ${JSON.stringify(name)}\n`)
    process.exit(2)
  }
}
for (const name of options.workers) {
  if (name !== "0" && name !== "default") {
    process.stderr.write(`--workers takes 0 and default; got ${JSON.stringify(name)}\n`)
    process.exit(2)
  }
}
for (const main of [options.server, options.compare]) {
  if (main !== undefined && !existsSync(main)) {
    process.stderr.write(`${main} is missing: build that checkout first (npx tsc -b)\n`)
    process.exit(2)
  }
}
if (!existsSync(options.file)) {
  process.stderr.write(`${options.file} is missing: pass --file with a ~1 MB PDF (the corpus is ../shared/corpus)\n`)
  process.exit(2)
}
const fileBytes = statSync(options.file).size

const log = (line: string) => process.stderr.write(`${line}\n`)
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, Math.max(0, ms)))

// ---------------------------------------------------------------------------------------------------------------
// Processes the run owns (each stopped at the end, also on Ctrl-C)

const tempRoot = mkdtempSync(join(tmpdir(), "scriptorium-bench-http-"))
const running = new Set<{ stop: () => Promise<void> }>()
const own = <A extends { stop: () => Promise<void> }>(p: A): A => {
  running.add(p)
  return p
}
const release = async (p: { stop: () => Promise<void> }) => {
  running.delete(p)
  await p.stop()
}

let dataDirs = 0
const freshDataDir = () => {
  const dir = join(tempRoot, `data-${++dataDirs}`)
  mkdirSync(dir)
  return dir
}

let loader: Load.LoadProcess

/** A load run, with the CPU the server (and the load generator) used during it: 1 = one core busy. */
interface Measured {
  readonly load: Load.LoadResult
  readonly serverCpu: number
  readonly loadCpu: number
  /** Server CPU time (all its threads) per answered request, ms: what a request costs, whoever else wants the CPU. */
  readonly serverCpuMsPerRequest: number
}

const measure = async (serverPid: number, spec: Load.LoadSpec): Promise<Measured> => {
  const [s0, l0, t0] = [cpuSeconds(serverPid), cpuSeconds(loader.pid), nowMs()]
  const load = await loader.run(spec)
  const seconds = (nowMs() - t0) / 1_000
  const serverSeconds = cpuSeconds(serverPid) - s0
  return {
    load,
    serverCpu: serverSeconds / seconds,
    loadCpu: (cpuSeconds(loader.pid) - l0) / seconds,
    serverCpuMsPerRequest: (serverSeconds * 1_000) / Math.max(1, load.completed)
  }
}

const describeLoad = (m: Measured) =>
  `${fmt(m.load.perSecond)}/s, p50 ${ms(m.load.latencyMs.p50)} p99 ${ms(m.load.latencyMs.p99)} ` +
  `max ${ms(m.load.latencyMs.max)} ms, ${statusText(m.load)}; server CPU ${pct(m.serverCpu)} ` +
  `(${(m.serverCpuMsPerRequest * 1_000).toFixed(0)} µs/request), load generator ${pct(m.loadCpu)}`

const pct = (share: number) => (Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : "–")

const statusText = (r: Load.LoadResult) =>
  [...Object.entries(r.statuses).map(([code, n]) => `${n}× ${code}`), ...(r.errors > 0 ? [`${r.errors} errors`] : [])]
    .join(", ") || "no responses"

/** Statuses other than the expected one, and connection errors, with the first error's message. */
const problems = (r: Load.LoadResult, expected: string): string | undefined => {
  const other = Object.entries(r.statuses).filter(([code]) => code !== expected)
  if (other.length === 0 && r.errors === 0) return undefined
  return `${statusText(r)}${r.firstError !== undefined ? ` (first error: ${r.firstError})` : ""}; ` +
    `a response: ${r.sampleBody.slice(0, 200)}`
}

/**
 * Waits (at most 30 s) until a process uses under 10% of a core over a second, as a server does once it has started
 * (or has finished the work queued before); the share it used over that last second.
 */
const settle = async (pid: number): Promise<number> => {
  const deadline = nowMs() + 30_000
  for (;;) {
    const [c0, t0] = [cpuSeconds(pid), nowMs()]
    await sleep(1_000)
    const share = (cpuSeconds(pid) - c0) / ((nowMs() - t0) / 1_000)
    if (!(share >= 0.1) || nowMs() > deadline) return share
  }
}

const profileDirFor = (name: string, run: number): string | undefined => {
  if (options.profileDir === undefined || run !== 1) return undefined
  const dir = join(options.profileDir, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

// ---------------------------------------------------------------------------------------------------------------
// Uploads

interface UploadConfig {
  readonly label: string
  readonly workers: number | undefined
}

const uploadConfigs: ReadonlyArray<UploadConfig> = [
  { label: "0 (API only)", workers: 0 },
  { label: "1 (default)", workers: undefined }
].filter((c) => options.workers.has(c.workers === 0 ? "0" : "default"))

/** A server build under test: the one measured, and the one compared with it (`--compare`). */
interface ServerBuild {
  readonly label: string
  readonly main: string | undefined
}

const serverBuilds: ReadonlyArray<ServerBuild> = [
  { label: options.compare === undefined ? "" : "this", main: options.server },
  ...(options.compare === undefined ? [] : [{ label: "compared", main: options.compare }])
]

type UploadPattern = "serial" | "wave" | "sustained"

const patterns: ReadonlyArray<{ readonly pattern: UploadPattern; readonly label: () => string }> = [
  { pattern: "serial", label: () => `1 client, ${options.serialUploads} uploads` },
  { pattern: "wave", label: () => `${options.clients} at once (1 each)` },
  { pattern: "sustained", label: () => `${options.clients} clients, ${options.uploads} uploads` }
]

const uploadSpec = (port: number, concurrency: number, requests: number): Load.LoadSpec => ({
  port,
  method: "POST",
  paths: ["/process_pdf"],
  multipart: { path: options.file, field: "file", filename: basename(options.file), contentType: "application/pdf" },
  concurrency,
  requests,
  durationMs: 120_000,
  timeoutMs: 60_000
})

const uploadRun = async (
  config: UploadConfig,
  build: ServerBuild,
  run: number
): Promise<Map<UploadPattern, Measured>> => {
  const dataDir = freshDataDir()
  const server = own(await startServer({
    dataDir,
    workerConcurrency: config.workers,
    main: build.main,
    cpuProfileDir: profileDirFor(
      `uploads-workers-${config.workers ?? "default"}${build.label === "" ? "" : `-${build.label}`}`,
      run
    )
  }))
  try {
    // the server loads its OCR models in threads for seconds after it listens: that CPU is no upload's
    const idle = await settle(server.pid)
    log(`  server settled; idle CPU ${pct(idle)}`)
    // warm-up (not measured): JIT, the pdf.js threads of the admission check, SQLite's first pages
    await loader.run(uploadSpec(server.port, 4, options.warmupUploads))
    // (with a worker, the warm-up's jobs are still being processed: that goes on during the runs, as it would)
    if (config.workers === 0) await settle(server.pid)
    return await loads(server, `run ${run}, workers ${config.label}${build.label === "" ? "" : `, ${build.label}`}`)
  } finally {
    await release(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** The three loads one after another against a warmed-up server (`port`, its process `pid`); each one's figures. */
const loads = async (
  server: { readonly port: number; readonly pid: number },
  what: string
): Promise<Map<UploadPattern, Measured>> => {
  const results = new Map<UploadPattern, Measured>()
  for (const { pattern } of patterns) {
    const spec = pattern === "serial"
      ? uploadSpec(server.port, 1, options.serialUploads)
      : pattern === "wave"
      ? uploadSpec(server.port, options.clients, options.clients)
      : uploadSpec(server.port, options.clients, options.uploads)
    const m = await measure(server.pid, spec)
    const problem = problems(m.load, "200")
    if (problem !== undefined) throw new Error(`Uploads answered other than 200 (${what}): ${problem}`)
    results.set(pattern, m)
    log(`  ${what}, ${pattern}: ${describeLoad(m)}`)
    // let the server settle between patterns (a worker keeps going on the backlog, as it would)
    await sleep(500)
  }
  return results
}

/** The same loads against the bare server (reads each body whole, answers a constant): the floor of an upload. */
const bareUploadRun = async (run: number): Promise<Map<UploadPattern, Measured>> => {
  const bare = own(await startBare(JSON.stringify({ job_id: "00000000-0000-0000-0000-000000000000", status: "pending" })))
  try {
    await loader.run(uploadSpec(bare.port, 4, options.warmupUploads))
    return await loads(bare, `run ${run}, bare node:http`)
  } finally {
    await release(bare)
  }
}

const uploadsSection = async (): Promise<ReadonlyArray<string>> => {
  const bareRuns: Array<Map<UploadPattern, Measured>> = []
  const runs = new Map<string, Array<Map<UploadPattern, Measured>>>()
  const key = (c: UploadConfig, b: ServerBuild) => `${c.label}|${b.label}`
  for (const c of uploadConfigs) for (const b of serverBuilds) runs.set(key(c, b), [])
  for (let r = 1; r <= options.repeats; r++) {
    for (const c of uploadConfigs) {
      // builds alternate run by run, so a change in the machine's load falls on both
      for (const b of r % 2 === 1 ? serverBuilds : [...serverBuilds].reverse()) {
        const build = b.label === "" ? "" : `, ${b.label}`
        log(`Uploads, run ${r}/${options.repeats}, WORKER_CONCURRENCY ${c.label}${build}`)
        runs.get(key(c, b))!.push(await uploadRun(c, b, r))
      }
    }
    log(`Uploads, run ${r}/${options.repeats}, bare node:http server`)
    bareRuns.push(await bareUploadRun(r))
  }
  const comparing = serverBuilds.length > 1
  const lines: Array<string> = []
  lines.push(
    `### POST /process_pdf: ${basename(options.file)} (${(fileBytes / 1024).toFixed(0)} KiB) as multipart`
  )
  lines.push("")
  lines.push(
    `Median of ${options.repeats} run${options.repeats === 1 ? "" : "s"} (uploads/s: median (min–max)), each on a ` +
      `fresh server warmed up with ${options.warmupUploads} uploads. Target: p99 < 50 ms with ${options.clients} ` +
      `concurrent uploads. CPU: of the server process (all its threads) and of the load generator over the run, 100% = ` +
      `one core; CPU/upload: the server's CPU time divided by the uploads answered.`
  )
  if (comparing) {
    lines.push("")
    lines.push(
      `Servers: this = ${options.server ?? "examples/server/dist/main.js"}; compared = ${options.compare}; their ` +
        "runs alternate."
    )
  }
  lines.push("")
  lines.push(
    `|${comparing ? " server |" : ""} WORKER_CONCURRENCY | load | uploads/s | p50 ms | p90 ms | p99 ms | max ms | ` +
      "server CPU | CPU/upload | load gen. CPU |"
  )
  lines.push(`|${comparing ? "---|" : ""}---|---|--:|--:|--:|--:|--:|--:|--:|--:|`)
  for (const c of uploadConfigs) {
    for (const { pattern, label } of patterns) for (const b of serverBuilds) {
      const ms_ = runs.get(key(c, b))!.map((run) => run.get(pattern)!)
      const m = (f: (x: Measured) => number) => median(ms_.map(f))
      lines.push(
        `|${comparing ? ` ${b.label} |` : ""} ${c.label} | ${label()} | ` +
          `${withRange(ms_.map((x) => x.load.perSecond))} | ` +
          `${ms(m((x) => x.load.latencyMs.p50))} | ${ms(m((x) => x.load.latencyMs.p90))} | ` +
          `${ms(m((x) => x.load.latencyMs.p99))} | ${ms(m((x) => x.load.latencyMs.max))} | ` +
          `${pct(m((x) => x.serverCpu))} | ${ms(m((x) => x.serverCpuMsPerRequest))} ms | ${pct(m((x) => x.loadCpu))} |`
      )
    }
  }
  for (const { pattern, label } of patterns) {
    const ms_ = bareRuns.map((run) => run.get(pattern)!)
    const m = (f: (x: Measured) => number) => median(ms_.map(f))
    lines.push(
      `|${comparing ? " bare node:http ² |" : ""} ${comparing ? "–" : "bare node:http ²"} | ${label()} | ` +
        `${withRange(ms_.map((x) => x.load.perSecond))} | ` +
        `${ms(m((x) => x.load.latencyMs.p50))} | ${ms(m((x) => x.load.latencyMs.p90))} | ` +
        `${ms(m((x) => x.load.latencyMs.p99))} | ${ms(m((x) => x.load.latencyMs.max))} | ` +
        `${pct(m((x) => x.serverCpu))} | ${ms(m((x) => x.serverCpuMsPerRequest))} ms | ${pct(m((x) => x.loadCpu))} |`
    )
  }
  lines.push("")
  lines.push(
    "² The floor, in the same runs: a bare node:http server that reads each upload's body whole and answers a " +
      "constant JSON (no parsing, no storage, no database), under the same loads from the same load generator."
  )
  lines.push("")
  const first = runs.get(key(uploadConfigs[0]!, serverBuilds[0]!))!
  const cpuPerUpload = median(first.map((run) => run.get("sustained")!.serverCpuMsPerRequest))
  const rate = median(first.map((run) => run.get("sustained")!.load.perSecond))
  if (uploadConfigs[0]!.workers === 0) lines.push(
    `- A closed loop of ${options.clients} clients keeps ${options.clients} uploads in the server at all times, so ` +
      `the mean latency is ${options.clients} ÷ uploads/s (Little's law: ${options.clients} ÷ ${fmt(rate)}/s = ` +
      `${ms((options.clients / rate) * 1_000)} ms here). A p99 under 50 ms with ${options.clients} clients needs ` +
      `over ${fmt((options.clients / 0.05))} uploads/s, about ${ms(50 / options.clients)} ms of server CPU per upload ` +
      `on the one main thread that parses it; the API-only server spends ${ms(cpuPerUpload)} ms (all threads).`
  )
  if (options.workers.has("default")) lines.push(
    "- With WORKER_CONCURRENCY 1 the server also processes the uploaded jobs (pdf.js threads) while it takes " +
      "uploads: its CPU/upload includes that work."
  )
  lines.push("")
  return lines
}

// ---------------------------------------------------------------------------------------------------------------
// Status polling against a bare server

/** GET on 127.0.0.1: status code and body (for the set-up, not measured). */
const get = (port: number, path: string): Promise<{ readonly status: number; readonly body: string }> =>
  new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", fail)
    })
    req.setTimeout(10_000, () => req.destroy(new Error("no answer in 10 s")))
    req.on("error", fail)
    req.end()
  })

/** Uploads the file once and waits (at most 120 s) for its job to complete; the job id. */
const completedJob = async (server: ServerProcess): Promise<string> => {
  const upload = await loader.run(uploadSpec(server.port, 1, 1))
  const problem = problems(upload, "200")
  if (problem !== undefined) throw new Error(`The upload failed: ${problem}`)
  const jobId = (JSON.parse(upload.sampleBody) as { job_id: string }).job_id
  const deadline = nowMs() + 120_000
  for (;;) {
    const { status, body } = await get(server.port, `/result/${jobId}/status`)
    const job = JSON.parse(body) as { status?: string }
    if (status === 200 && job.status === "completed") return jobId
    if (job.status === "failed" || job.status === "cancelled") throw new Error(`The job ended ${body}`)
    if (nowMs() > deadline) throw new Error(`The job did not complete within 120 s: ${body}`)
    await sleep(100)
  }
}

/** The bare server in a child process, answering `body`. */
const startBare = (body: string): Promise<{ readonly port: number; readonly pid: number; stop(): Promise<void> }> =>
  new Promise((done, fail) => {
    const script = fileURLToPath(new URL("./internal/bare-server.js", import.meta.url))
    const proc = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const exited = new Promise<void>((ok) => proc.once("exit", () => ok()))
    proc.once("exit", (code, signal) => fail(new Error(`The bare server exited (${signal ?? code})`)))
    proc.on("message", (message: FromBare) => {
      if (message.type !== "listening") return
      done({
        port: message.port,
        pid: proc.pid!,
        stop: async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return
          proc.disconnect()
          const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000)
          await exited
          clearTimeout(timer)
        }
      })
    })
    proc.send({ type: "serve", body } satisfies ToBare)
  })

const statusSection = async (): Promise<ReadonlyArray<string>> => {
  log("Status polling: starting the server and completing one job...")
  const dataDir = freshDataDir()
  const server = own(await startServer({ dataDir, main: options.server, cpuProfileDir: profileDirFor("status", 1) }))
  const results = { scriptorium: [] as Array<Measured>, bare: [] as Array<Measured> }
  let bodyBytes = 0
  try {
    const jobId = await completedJob(server)
    const path = `/result/${jobId}/status`
    const { body } = await get(server.port, path)
    bodyBytes = Buffer.byteLength(body)
    const bare = own(await startBare(body))
    try {
      const sameBytes = (await get(bare.port, "/")).body === body
      if (!sameBytes) throw new Error("The bare server does not answer the status body")
      const spec = (port: number, durationMs: number): Load.LoadSpec => ({
        port,
        method: "GET",
        paths: [path],
        concurrency: options.statusClients,
        durationMs,
        timeoutMs: 10_000
      })
      const targets = [
        { name: "scriptorium" as const, port: server.port, pid: server.pid },
        { name: "bare" as const, port: bare.port, pid: bare.pid }
      ]
      // warm-up (not measured): JIT in the servers and in the load generator, the connections
      for (const t of targets) await loader.run(spec(t.port, options.statusWarmupMs))
      for (let r = 1; r <= options.repeats; r++) {
        for (const t of targets) {
          const m = await measure(t.pid, spec(t.port, options.statusMs))
          const problem = problems(m.load, "200")
          if (problem !== undefined) throw new Error(`Status requests to ${t.name} answered other than 200: ${problem}`)
          results[t.name].push(m)
          log(`  run ${r}/${options.repeats}, ${t.name}: ${describeLoad(m)}`)
          await sleep(300)
        }
      }
    } finally {
      await release(bare)
    }
  } finally {
    await release(server)
    rmSync(dataDir, { recursive: true, force: true })
  }

  const rate = (xs: ReadonlyArray<Measured>) => median(xs.map((x) => x.load.perSecond))
  const ratio = rate(results.scriptorium) / rate(results.bare)
  const lines: Array<string> = []
  lines.push(`### GET /result/{id}/status: ${options.statusClients} keep-alive clients, against a bare node:http server`)
  lines.push("")
  lines.push(
    `${options.repeats} run${options.repeats === 1 ? "" : "s"} of ${options.statusMs / 1_000} s per server, ` +
      `alternating, after a ${options.statusWarmupMs / 1_000} s warm-up of each; median (min–max). Both answer the ` +
      `same ${bodyBytes}-byte JSON (one completed job's status; the bare server sends those bytes as a constant). ` +
      `Target: Scriptorium ≥ 50% of the bare server's rate.`
  )
  lines.push("")
  lines.push("| server | requests/s | p50 ms | p99 ms | server CPU | CPU/request | load gen. CPU |")
  lines.push("|---|--:|--:|--:|--:|--:|--:|")
  for (const [label, xs] of [
    ["Scriptorium (examples/server, defaults)", results.scriptorium],
    ["bare node:http, constant body", results.bare]
  ] as const) {
    const m = (f: (x: Measured) => number) => median(xs.map(f))
    lines.push(
      `| ${label} | ${withRange(xs.map((x) => x.load.perSecond))} | ${ms(m((x) => x.load.latencyMs.p50))} | ` +
        `${ms(m((x) => x.load.latencyMs.p99))} | ${pct(m((x) => x.serverCpu))} | ` +
        `${(m((x) => x.serverCpuMsPerRequest) * 1_000).toFixed(0)} µs | ${pct(m((x) => x.loadCpu))} |`
    )
  }
  lines.push("")
  const cpu = (xs: ReadonlyArray<Measured>) => median(xs.map((x) => x.serverCpuMsPerRequest))
  lines.push(
    `Scriptorium ÷ bare: **${(ratio * 100).toFixed(0)}%** of the bare server's requests/s ` +
      `(${ratio >= 0.5 ? "meets" : "misses"} the ≥ 50% target). By CPU per request (what each would serve with a ` +
      `core to itself): ${((cpu(results.bare) / cpu(results.scriptorium)) * 100).toFixed(0)}%.`
  )
  const bareLoadCpu = median(results.bare.map((x) => x.loadCpu))
  if (bareLoadCpu >= 0.9) {
    lines.push("")
    lines.push(
      `- The bare server's rate is the load generator's limit (it used ${pct(bareLoadCpu)} of a core, the bare ` +
        `server ${pct(median(results.bare.map((x) => x.serverCpu)))}), so the ratio of rates flatters Scriptorium; ` +
        "the ratio of CPU per request is the ratio of capacities."
    )
  }
  lines.push("")
  return lines
}

// ---------------------------------------------------------------------------------------------------------------
// The run

const main = async () => {
  const started = nowMs()
  const loadAtStart = loadavg()[0]!
  loader = own(await Load.start())
  const sections: Array<ReadonlyArray<string>> = []
  if (options.only.has("uploads")) sections.push(await uploadsSection())
  if (options.only.has("status")) sections.push(await statusSection())
  await release(loader)
  const elapsedS = (nowMs() - started) / 1_000
  log(`Done in ${elapsedS.toFixed(0)} s`)

  const lines: Array<string> = []
  lines.push(`## HTTP API (${new Date().toISOString().slice(0, 10)})`)
  lines.push("")
  lines.push(
    `${machineLine(loadAtStart)} Whole run ${elapsedS.toFixed(0)} s. Server: examples/server (SQLite and files in ` +
      "a fresh temp folder, PDF admission check on), one process; load generator: node:http with a keep-alive Agent, " +
      "closed loop, in another process; both on the same cores."
  )
  lines.push("")
  for (const s of sections) lines.push(...s)
  if (options.profileDir !== undefined) {
    lines.push("### Where the server's time went (node --cpu-prof, first run of each configuration)")
    lines.push("")
    const uploadProfiles = uploadConfigs.flatMap((c) =>
      serverBuilds.map((b) => `uploads-workers-${c.workers ?? "default"}${b.label === "" ? "" : `-${b.label}`}`)
    )
    for (const name of [...uploadProfiles, "status"]) {
      const dir = join(options.profileDir, name)
      if (!existsSync(dir)) continue
      // the main thread and the busiest pdf.js thread
      for (const [i, summary] of CpuProfile.summarizeFolder(dir).slice(0, 2).entries()) {
        lines.push(...CpuProfile.describe(summary, `${name}, thread ${i + 1} (${basename(summary.file)})`))
      }
    }
  }
  process.stdout.write(lines.join("\n"))
}

const cleanUp = async () => {
  for (const p of [...running]) await p.stop().catch((e: unknown) => log(`Could not stop a process: ${String(e)}`))
  running.clear()
  rmSync(tempRoot, { recursive: true, force: true })
}

runMain("HTTP", main, cleanUp)
