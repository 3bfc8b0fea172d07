/**
 * The queue's figures, side by side with a peer: how fast no-op jobs go through the queue, and how long a job
 * waits between being submitted and its handler starting.
 *
 * Queues: Scriptorium's Worker on SQLite (a temp file) and on PostgreSQL, and pg-boss (the best-known PostgreSQL
 * job queue for Node) on the same PostgreSQL server, each run with 1 and 8 concurrent no-op handlers in one
 * process, and with 2 worker processes of 4 (`queue-worker.ts`). Every measurement gets a fresh database.
 *
 * - Throughput: N jobs are submitted one after the other, as fast as one submitter can (JobStore.insert; pg-boss
 *   `send`), while the workers run. submitted/s = N / time of the submitting; completed/s = N / time from the first
 *   submit until the submitter sees the last job completed (Scriptorium: the store's change feed; pg-boss: its
 *   queue size, read every 25 ms). pg-boss is polling-bound (see the notes), so its run stops at a time cap and
 *   counts the jobs completed by then.
 * - Start latency: with the workers idle, jobs are submitted one at a time at a steady rate; for each, the time the
 *   handler started minus the moment the submit call returned. p50, p99 and max. pg-boss gets its jobs more slowly
 *   (at 80% of what its polling workers can take), or it would measure queueing instead.
 *
 * Each configuration runs R times, interleaved (repeat 1 of every configuration, then repeat 2...), and the table
 * gives the median of the runs (with the range of throughput runs). Progress goes to stderr, the table (markdown)
 * to stdout.
 *
 * PostgreSQL: a throwaway server started from the system binaries (fsync off), or the server in DATABASE_URL (it
 * creates and drops its own databases there).
 *
 * Run: `npm run bench:queue` (7-9 minutes on 2 cores; `--quick`: about a minute), or after `npx tsc -b`:
 *   node benchmarks/dist/queue.js [--quick] [--jobs N] [--pg-jobs N] [--repeats R] [--samples S] [--gap-ms MS]
 *                                 [--peer-cap-s S] [--peer-latency-s S] [--no-peer] [--no-processes]
 *                                 [--only sqlite,pg,pg-boss]
 * Defaults: 2,000 jobs on SQLite, 1,000 on PostgreSQL, 3 repeats, 200 latency samples 20 ms apart; pg-boss
 * throughput runs cut off at 8 s, its latency runs at 10 s.
 * `--quick` is a smoke run: 200 jobs, 1 repeat, 50 latency samples, shorter pg-boss cut-offs.
 */
import { JobStore } from "@scriptorium/core"
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { Effect, Fiber, Stream } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { failNow, runMain } from "./internal/Main.js"
import {
  type Backend,
  bossPollingIntervalSeconds,
  bossQueue,
  type FromWorker,
  now,
  openBoss,
  startBossWorkers,
  startScriptoriumWorker,
  stopBoss,
  storeRuntime,
  type ToWorker
} from "./internal/QueueHarness.js"
import { fmt, machineLine, median, ms, percentile, positive, withRange } from "./internal/Stats.js"

// ---------------------------------------------------------------------------------------------------------------
// Options

const usage =
  "node benchmarks/dist/queue.js [--quick] [--jobs N] [--pg-jobs N] [--repeats R] [--samples S] [--gap-ms MS]\n" +
  "                              [--peer-cap-s S] [--peer-latency-s S] [--no-peer] [--no-processes]\n" +
  "                              [--only sqlite,pg,pg-boss]\n" +
  "Environment: BENCH_JOBS, BENCH_PG_JOBS, BENCH_REPEATS, BENCH_SAMPLES, DATABASE_URL.\n"

const parseFlags = () => parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    jobs: { type: "string" },
    "pg-jobs": { type: "string" },
    repeats: { type: "string" },
    samples: { type: "string" },
    "gap-ms": { type: "string" },
    "peer-cap-s": { type: "string" },
    "peer-latency-s": { type: "string" },
    "no-peer": { type: "boolean", default: false },
    "no-processes": { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", default: false }
  }
}).values

let flags: ReturnType<typeof parseFlags>
try {
  flags = parseFlags()
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}`)
  process.exit(2)
}

if (flags.help) {
  process.stdout.write(usage)
  process.exit(0)
}

const quick = flags.quick
const env = process.env
const sqliteJobs = Math.floor(positive("--jobs", flags.jobs ?? env["BENCH_JOBS"], quick ? 200 : 2_000))
const options = {
  sqliteJobs,
  pgJobs: Math.floor(positive("--pg-jobs", flags["pg-jobs"] ?? env["BENCH_PG_JOBS"], quick ? 200 : 1_000)),
  repeats: Math.floor(positive("--repeats", flags.repeats ?? env["BENCH_REPEATS"], quick ? 1 : 3)),
  samples: Math.floor(positive("--samples", flags.samples ?? env["BENCH_SAMPLES"], quick ? 50 : 200)),
  gapMs: positive("--gap-ms", flags["gap-ms"], 20),
  /** pg-boss throughput runs stop after this long (its completion rate is bounded by its polling). */
  peerCapMs: positive("--peer-cap-s", flags["peer-cap-s"], quick ? 4 : 8) * 1_000,
  /** How long a pg-boss latency run may submit for (its jobs must come slower than it polls; see `latencyPlan`). */
  peerLatencyMs: positive("--peer-latency-s", flags["peer-latency-s"], quick ? 4 : 10) * 1_000,
  only: new Set((flags.only ?? "sqlite,pg,pg-boss").split(",").map((s) => s.trim()).filter(Boolean))
}
if (flags["no-peer"]) options.only.delete("pg-boss")
for (const name of options.only) {
  if (name !== "sqlite" && name !== "pg" && name !== "pg-boss") {
    process.stderr.write(`--only takes sqlite, pg and pg-boss; got ${JSON.stringify(name)}\n`)
    process.exit(2)
  }
}

interface Topology {
  readonly label: string
  /** 0: the workers run in the benchmark's own process. */
  readonly processes: number
  readonly concurrency: number
}

const topologies: ReadonlyArray<Topology> = [
  { label: "1", processes: 0, concurrency: 1 },
  { label: "8", processes: 0, concurrency: 8 },
  ...(flags["no-processes"] ? [] : [{ label: "2 processes × 4", processes: 2, concurrency: 4 }])
]

const queues: ReadonlyArray<{ readonly backend: Backend; readonly label: string }> = [
  { backend: "sqlite" as const, label: "Scriptorium, SQLite" },
  { backend: "pg" as const, label: "Scriptorium, PostgreSQL" },
  { backend: "pg-boss" as const, label: "pg-boss 10.4.2, PostgreSQL" }
].filter((q) => options.only.has(q.backend))

const log = (line: string) => process.stderr.write(`${line}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

// ---------------------------------------------------------------------------------------------------------------
// A queue with its workers running: what a measurement needs from it

interface Completion {
  /** When the submitter saw the `n`-th job completed (or the deadline passed). */
  readonly at: number
  readonly completed: number
}

interface Session {
  /** Submits `n` jobs one after the other, each waiting for the previous one. */
  submitMany(n: number): Promise<void>
  /** Submits one job; its id. */
  submitOne(): Promise<string>
  /** Waits until `n` jobs have completed, or until `deadline` (epoch ms). */
  waitCompleted(n: number, deadline?: number): Promise<Completion>
  /** When each job's handler started, from every worker process. */
  startTimes(): Promise<Map<string, number>>
  close(): Promise<void>
}

const workerScript = fileURLToPath(new URL("./queue-worker.js", import.meta.url))

interface Child {
  dump(): Promise<ReadonlyArray<readonly [string, number]>>
  stop(): Promise<void>
}

/** Forks a worker process and waits until its workers are claiming. */
const forkWorker = (backend: Backend, database: string, concurrency: number): Promise<Child> =>
  new Promise((resolve, reject) => {
    const proc: ChildProcess = fork(workerScript, [], {
      env: { ...process.env, BENCH_BACKEND: backend, BENCH_DATABASE: database, BENCH_CONCURRENCY: String(concurrency) },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    let stopping = false
    const exited = new Promise<void>((done) => proc.once("exit", () => done()))
    proc.once("exit", (code, signal) => {
      if (!stopping) fatal(`A ${backend} worker process died (${signal ?? code}) during a measurement`)
    })
    let onDump: ((starts: ReadonlyArray<readonly [string, number]>) => void) | undefined
    const tell = (message: ToWorker) => proc.send(message)
    proc.on("message", (message: FromWorker) => {
      if (message.type === "ready") {
        resolve({
          dump: () =>
            new Promise((got) => {
              onDump = got
              tell({ type: "dump" })
            }),
          stop: async () => {
            if (proc.exitCode !== null || proc.signalCode !== null) return
            stopping = true
            tell({ type: "stop" })
            const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000)
            await exited
            clearTimeout(timer)
          }
        })
      } else if (message.type === "starts") {
        onDump?.(message.starts)
      } else {
        reject(new Error(`A ${backend} worker process failed: ${message.message}`))
      }
    })
  })

/** Starts the workers of `topology`: in this process (`inProcess`) or in child processes. */
const startWorkers = async (
  topology: Topology,
  backend: Backend,
  database: string,
  inProcess: () => Promise<() => Promise<void>>
) => {
  if (topology.processes === 0) return { stop: await inProcess(), children: [] as Array<Child> }
  const children = await Promise.all(
    Array.from({ length: topology.processes }, () => forkWorker(backend, database, topology.concurrency))
  )
  return { stop: async () => void (await Promise.all(children.map((c) => c.stop()))), children }
}

const collectStarts = async (local: Map<string, number>, children: ReadonlyArray<Child>) => {
  const all = new Map(local)
  for (const child of children) for (const [id, at] of await child.dump()) all.set(id, at)
  return all
}

/** Scriptorium: a store in this process (submitting and counting completions), its Workers here or in children. */
const openScriptorium = async (backend: "sqlite" | "pg", database: string, topology: Topology): Promise<Session> => {
  const runtime = storeRuntime(backend, database)
  const store = await runtime.runPromise(JobStore)
  let completed = 0
  let lastAt = 0
  let waiter: { readonly n: number; readonly resolve: () => void } | undefined
  const feed = runtime.runFork(
    store.changes({ after: 0 }).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event.type !== "completed") return
          completed++
          lastAt = now()
          if (waiter !== undefined && completed >= waiter.n) waiter.resolve()
        })
      )
    )
  )
  const starts = new Map<string, number>()
  const workers = await startWorkers(topology, backend, database, () =>
    startScriptoriumWorker(runtime, topology.concurrency, (id, at) => void starts.set(id, at)))
  const submit = store.insert({ filename: "noop.pdf" })
  return {
    submitMany: (n) => runtime.runPromise(Effect.asVoid(Effect.repeatN(submit, n - 1))),
    submitOne: () => runtime.runPromise(Effect.map(submit, (inserted) => inserted.job.job_id)),
    waitCompleted: async (n, deadline) => {
      while (completed < n && (deadline === undefined || now() < deadline)) {
        const before = completed
        await new Promise<void>((resolve) => {
          waiter = { n, resolve }
          setTimeout(resolve, Math.min(stallMs, deadline === undefined ? stallMs : deadline - now()))
        })
        waiter = undefined
        if (completed === before && completed < n && (deadline === undefined || now() < deadline)) stalled(n, completed)
      }
      return completed >= n ? { at: lastAt, completed } : { at: now(), completed }
    },
    startTimes: () => collectStarts(starts, workers.children),
    close: async () => {
      await workers.stop()
      await runtime.runPromise(Fiber.interrupt(feed))
      await runtime.dispose()
    }
  }
}

/** pg-boss: an instance in this process (submitting and reading the queue size), its workers here or in children. */
const openPgBoss = async (url: string, topology: Topology): Promise<Session> => {
  const boss = await openBoss(url, { migrate: true })
  await boss.createQueue(bossQueue)
  const starts = new Map<string, number>()
  const workers = await startWorkers(topology, "pg-boss", url, () =>
    startBossWorkers(boss, topology.concurrency, (id, at) => void starts.set(id, at)))
  let sent = 0
  const submitOne = async () => {
    const id = await boss.send(bossQueue, {})
    if (id === null) throw new Error("pg-boss did not create the job")
    sent++
    return id
  }
  return {
    submitMany: async (n) => {
      for (let i = 0; i < n; i++) await submitOne()
    },
    submitOne,
    waitCompleted: async (n, deadline) => {
      let progress = { done: -1, at: now() }
      for (;;) {
        // jobs not yet completed: created, retry or active
        const done = sent - (await boss.getQueueSize(bossQueue, { before: "completed" }))
        if (done >= n || (deadline !== undefined && now() >= deadline)) return { at: now(), completed: done }
        if (done !== progress.done) progress = { done, at: now() }
        else if (now() - progress.at > stallMs) stalled(n, done)
        await sleep(25)
      }
    },
    startTimes: () => collectStarts(starts, workers.children),
    close: async () => {
      await workers.stop()
      await stopBoss(boss)
    }
  }
}

/** How long a measurement may go without a job completing before the run is declared stuck. */
const stallMs = 30_000

const stalled = (n: number, completed: number): never => {
  throw new Error(`No job completed for ${stallMs / 1_000} s (${completed} of ${n} done); the queue is stuck`)
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements

interface Throughput {
  readonly submittedPerS: number
  readonly completedPerS: number
  /** Set when the run hit the time cap: jobs completed by then. */
  readonly capped?: { readonly completed: number; readonly jobs: number }
}

const measureThroughput = async (session: Session, jobs: number, capMs?: number): Promise<Throughput> => {
  const t0 = now()
  await session.submitMany(jobs)
  const submittedAt = now()
  const done = await session.waitCompleted(jobs, capMs === undefined ? undefined : t0 + capMs)
  return {
    submittedPerS: jobs / ((submittedAt - t0) / 1_000),
    completedPerS: done.completed / ((done.at - t0) / 1_000),
    ...(done.completed < jobs ? { capped: { completed: done.completed, jobs } } : {})
  }
}

interface Latency {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * How many latency samples, how far apart. The workers must be idle when each job arrives, or the figure is
 * queueing, not start latency: pg-boss workers take one job per poll interval each, so its jobs come at most at
 * 80% of that rate (1 worker: one every 625 ms), and only as many as fit in `peerLatencyMs`.
 */
const latencyPlan = (backend: Backend, topology: Topology): { readonly samples: number; readonly gapMs: number } => {
  if (backend !== "pg-boss") return { samples: options.samples, gapMs: options.gapMs }
  const workers = Math.max(1, topology.processes) * topology.concurrency
  const gapMs = Math.max(options.gapMs, Math.ceil((1.25 * bossPollingIntervalSeconds * 1_000) / workers))
  return { samples: Math.max(5, Math.min(options.samples, Math.floor(options.peerLatencyMs / gapMs))), gapMs }
}

const measureLatency = async (session: Session, samples: number, gapMs: number): Promise<Latency> => {
  await sleep(300) // let the workers settle into waiting
  const submitted = new Map<string, number>()
  const t0 = now()
  for (let i = 0; i < samples; i++) {
    await sleep(t0 + i * gapMs - now())
    const id = await session.submitOne()
    submitted.set(id, now())
  }
  await session.waitCompleted(samples)
  const starts = await session.startTimes()
  const latencies = [...submitted].map(([id, at]) => {
    const started = starts.get(id)
    if (started === undefined) throw new Error(`No handler start recorded for job ${id}`)
    return started - at
  })
  latencies.sort((a, b) => a - b)
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1]! }
}

// ---------------------------------------------------------------------------------------------------------------
// Databases

let pgServer: TestPostgres | undefined
let tempDir: string | undefined
let sqliteFiles = 0

const freshDatabase = async (backend: Backend): Promise<string> => {
  if (backend === "sqlite") {
    tempDir ??= await mkdtemp(join(tmpdir(), "scriptorium-bench-"))
    return join(tempDir, `queue-${++sqliteFiles}.db`)
  }
  return pgServer!.createDatabase()
}

const open = (backend: Backend, database: string, topology: Topology) =>
  backend === "pg-boss" ? openPgBoss(database, topology) : openScriptorium(backend, database, topology)

const withSession = async <A>(backend: Backend, topology: Topology, use: (s: Session) => Promise<A>): Promise<A> => {
  const session = await open(backend, await freshDatabase(backend), topology)
  try {
    return await use(session)
  } finally {
    await session.close()
  }
}

const jobsFor = (backend: Backend) => (backend === "sqlite" ? options.sqliteJobs : options.pgJobs)

// ---------------------------------------------------------------------------------------------------------------
// The run

interface Results {
  throughput: Array<Throughput>
  latency: Array<Latency>
}

/** The 1-minute load average when the run started (the machine may be shared). */
let loadAtStart = 0

const main = async () => {
  const started = now()
  loadAtStart = loadavg()[0]!
  const key = (backend: Backend, topology: Topology) => `${backend}|${topology.label}`
  const results = new Map<string, Results>()
  for (const q of queues) for (const t of topologies) results.set(key(q.backend, t), { throughput: [], latency: [] })

  let pgVersion = "not used"
  if (queues.some((q) => q.backend !== "sqlite")) {
    log(env["DATABASE_URL"] ? "Using the PostgreSQL server in DATABASE_URL" : "Starting a throwaway PostgreSQL...")
    pgServer = await startTestPostgres()
    pgVersion = await serverVersion(pgServer)
    log(`PostgreSQL ${pgVersion} at ${pgServer.host}:${pgServer.port}`)
  }

  // warm-up (not measured): JIT, connection set-up, the worker process's first start
  log("Warm-up...")
  for (const q of queues) {
    await withSession(q.backend, topologies[1]!, (s) =>
      measureThroughput(s, Math.min(200, jobsFor(q.backend)), q.backend === "pg-boss" ? 2_000 : undefined))
  }

  const total = options.repeats * queues.length * topologies.length
  let done = 0
  for (let r = 1; r <= options.repeats; r++) {
    for (const t of topologies) {
      for (const q of queues) {
        const res = results.get(key(q.backend, t))!
        const jobs = jobsFor(q.backend)
        const label = `[${++done}/${total}] run ${r}: ${q.label}, workers ${t.label}`
        const tp = await withSession(q.backend, t, (s) =>
          measureThroughput(s, jobs, q.backend === "pg-boss" ? options.peerCapMs : undefined))
        res.throughput.push(tp)
        const plan = latencyPlan(q.backend, t)
        const lat = await withSession(q.backend, t, (s) => measureLatency(s, plan.samples, plan.gapMs))
        res.latency.push(lat)
        log(
          `${label}: ${fmt(tp.submittedPerS)} submitted/s, ${fmt(tp.completedPerS)} completed/s` +
            `${tp.capped ? ` (capped: ${tp.capped.completed}/${tp.capped.jobs})` : ""}; ` +
            `start p50 ${ms(lat.p50)} p99 ${ms(lat.p99)} max ${ms(lat.max)} ms`
        )
      }
    }
  }
  const elapsedS = (now() - started) / 1_000
  log(`Done in ${elapsedS.toFixed(0)} s`)
  process.stdout.write(report(results, key, pgVersion, elapsedS))
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const ratio = (a: number, b: number) => {
  const r = a / b
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×`
}

const report = (
  results: Map<string, Results>,
  key: (b: Backend, t: Topology) => string,
  pgVersion: string,
  elapsedS: number
): string => {
  const lines: Array<string> = []
  lines.push(`## Queue: no-op jobs (${new Date().toISOString().slice(0, 10)})`)
  lines.push("")
  lines.push(
    machineLine(
      loadAtStart,
      `PostgreSQL ${pgVersion}${env["DATABASE_URL"] ? " (DATABASE_URL)" : " (throwaway local server, fsync off)"}`
    )
  )
  lines.push(
    `Throughput: ${options.sqliteJobs} jobs per run on SQLite, ${options.pgJobs} on PostgreSQL` +
      ` (pg-boss: the same, cut off at ${options.peerCapMs / 1_000} s). ` +
      `Start latency: ${options.samples} jobs, one every ${options.gapMs} ms, to idle workers` +
      `${peerInRun() ? " (pg-boss: fewer, slower; note ²)" : ""}. ` +
      `Median of ${options.repeats} run${options.repeats === 1 ? "" : "s"}` +
      `${options.repeats > 1 ? " (throughput: median (min–max))" : ""}; whole run ${elapsedS.toFixed(0)} s.`
  )
  lines.push("")
  lines.push("| queue | workers | submitted/s | completed/s | start p50 ms | start p99 ms | start max ms |")
  lines.push("|---|---|--:|--:|--:|--:|--:|")
  for (const t of topologies) {
    for (const q of queues) {
      const r = results.get(key(q.backend, t))!
      const cappedRuns = r.throughput.filter((x) => x.capped !== undefined)
      const cappedNote = cappedRuns.length > 0 ? " ¹" : ""
      const latencyNote = q.backend === "pg-boss" ? " ²" : ""
      lines.push(
        `| ${q.label} | ${t.label} | ${withRange(r.throughput.map((x) => x.submittedPerS))} | ` +
          `${withRange(r.throughput.map((x) => x.completedPerS))}${cappedNote} | ` +
          `${ms(median(r.latency.map((x) => x.p50)))}${latencyNote} | ${ms(median(r.latency.map((x) => x.p99)))} | ` +
          `${ms(median(r.latency.map((x) => x.max)))} |`
      )
    }
  }
  lines.push("")

  const ours = queues.find((q) => q.backend === "pg")
  const peer = queues.find((q) => q.backend === "pg-boss")
  if (ours && peer) {
    lines.push("Scriptorium on PostgreSQL against pg-boss on the same server (ratios of the medians):")
    lines.push("")
    lines.push("| workers | completed/s, Scriptorium ÷ pg-boss | submitted/s, Scriptorium ÷ pg-boss | start p50, pg-boss ÷ Scriptorium | start p99, pg-boss ÷ Scriptorium |")
    lines.push("|---|--:|--:|--:|--:|")
    for (const t of topologies) {
      const a = results.get(key("pg", t))!
      const b = results.get(key("pg-boss", t))!
      const m = (r: Results, f: (x: Throughput) => number) => median(r.throughput.map(f))
      const l = (r: Results, f: (x: Latency) => number) => median(r.latency.map(f))
      lines.push(
        `| ${t.label} | ${ratio(m(a, (x) => x.completedPerS), m(b, (x) => x.completedPerS))} | ` +
          `${ratio(m(a, (x) => x.submittedPerS), m(b, (x) => x.submittedPerS))} | ` +
          `${ratio(l(b, (x) => x.p50), l(a, (x) => x.p50))} | ${ratio(l(b, (x) => x.p99), l(a, (x) => x.p99))} |`
      )
    }
    lines.push("")
  }

  lines.push("Notes:")
  if (peer) {
    const capped = topologies.flatMap((t) => {
      const counts = results.get(key("pg-boss", t))!.throughput.flatMap((x) => x.capped ? [x.capped.completed] : [])
      if (counts.length === 0) return []
      const [lo, hi] = [Math.min(...counts), Math.max(...counts)]
      return [`${t.label}: ${lo === hi ? lo : `${lo}–${hi}`}`]
    })
    const plans = topologies.map((t) => {
      const plan = latencyPlan("pg-boss", t)
      return `${t.label}: ${plan.samples} jobs ${plan.gapMs} ms apart`
    })
    lines.push(
      `- ¹ pg-boss ${capped.length > 0 ? "runs were cut off" : "runs would be cut off"} after ` +
        `${options.peerCapMs / 1_000} s and count the jobs completed by then` +
        `${capped.length > 0 ? ` (${capped.join("; ")} of ${options.pgJobs})` : ""}: pg-boss 10 workers poll, ` +
        `at most every ${bossPollingIntervalSeconds} s (its minimum \`pollingIntervalSeconds\`, used here), and each ` +
        `worker waits out the interval after every fetch, jobs or not, so a worker completes at most batchSize jobs ` +
        `per interval. "N workers" for pg-boss is \`work()\` called N times with batchSize 1 (pg-boss 10.4.2 is the ` +
        `newest that runs on Node 20; localConcurrency needs pg-boss 12 and Node 22). Its \`notifyWorker()\` could ` +
        `wake an in-process worker at once; it is not used, as a submitter in another process could not.`
    )
    lines.push(
      `- ² pg-boss start latency: jobs must not arrive faster than its workers poll, or the figure is queueing ` +
        `time, so they come at 80% of its polling capacity and for at most ${options.peerLatencyMs / 1_000} s ` +
        `(${plans.join("; ")}); with few samples p99 is close to the max.`
    )
  }
  lines.push(
    "- Scriptorium runs with its defaults: Worker pollMs 1 s, woken at once by the store's change feed for jobs " +
      "submitted in the same process; across processes the feed polls every 50 ms on SQLite and listens " +
      "(LISTEN/NOTIFY, with a 1 s poll behind it) on PostgreSQL. Pools: PgJobStore and pg-boss 10 connections each."
  )
  lines.push(
    "- Workers \"1\" and \"8\" share the benchmark's process (and its store or pg-boss instance) with the submitter; " +
      "\"2 processes × 4\" are two child processes, the submitter apart. Each run has a fresh database; " +
      "completion is seen through the queue itself (change feed; pg-boss queue size every 25 ms)."
  )
  lines.push("")
  return lines.join("\n")
}

const peerInRun = () => queues.some((q) => q.backend === "pg-boss")

const serverVersion = async (server: TestPostgres): Promise<string> => {
  const boss = await openBoss(await server.createDatabase(), { migrate: true })
  try {
    const { rows } = await boss.getDb().executeSql("SHOW server_version", [])
    return String(rows[0]?.server_version ?? "?").split(" ")[0]!
  } finally {
    await stopBoss(boss)
  }
}

// ---------------------------------------------------------------------------------------------------------------

const cleanUp = async () => {
  await pgServer?.stop().catch((e: unknown) => log(`Could not stop PostgreSQL: ${String(e)}`))
  if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true })
}

/** Ends the run at once, from outside the measurement's own flow (e.g. a worker process died). */
function fatal(message: string): void {
  failNow("Queue", message, cleanUp)
}

runMain("Queue", main, cleanUp)
