/**
 * The standalone server (`examples/server/dist/main.js`) as a child process of a benchmark: started on 127.0.0.1 on a
 * free port with its own data folder and otherwise its defaults (admission check on, WORKER_CONCURRENCY 1 unless
 * given), optionally under `node --cpu-prof`; stopped with SIGTERM, as an operator would. Also reads a process's CPU
 * time from /proc, to tell how busy the server and the load generator were during a run.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The compiled server entry point (`npx tsc -b` builds it). */
export const serverMain = fileURLToPath(new URL("../../../examples/server/dist/main.js", import.meta.url))

/** How to start the server. */
export interface ServerOptions {
  /** SCRIPTORIUM_DATA_DIR. */
  readonly dataDir: string
  /** WORKER_CONCURRENCY; undefined leaves it unset (the server's default, 1). */
  readonly workerConcurrency?: number | undefined
  /** When set, the server runs under `node --cpu-prof` and writes its profiles here when it exits. */
  readonly cpuProfileDir?: string | undefined
  /** The server script to run; default `serverMain` (another checkout's build, to compare two versions). */
  readonly main?: string | undefined
}

/** A running server. */
export interface ServerProcess {
  readonly port: number
  readonly pid: number
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s). */
  readonly stop: () => Promise<void>
}

/** The server's own settings: none may leak in from the benchmark's environment (a DATABASE_URL would switch store). */
const serverVariables = [
  "PORT",
  "HOST",
  "SCRIPTORIUM_DATA_DIR",
  "DATABASE_URL",
  "AUTH_TOKEN",
  "MAX_UPLOAD_MB",
  "WORKER_CONCURRENCY",
  "JOB_TIMEOUT_SECONDS",
  "LEASE_SECONDS",
  "SHUTDOWN_GRACE_SECONDS"
]

/** Starts the server and waits (at most 30 s) until it says it listens. */
export const startServer = (options: ServerOptions): Promise<ServerProcess> => {
  const main = options.main ?? serverMain
  if (!existsSync(main)) {
    return Promise.reject(new Error(`${main} is missing: build first (npx tsc -b at the repository's root)`))
  }
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !serverVariables.includes(k)) env[k] = v
  Object.assign(env, { PORT: "0", HOST: "127.0.0.1", SCRIPTORIUM_DATA_DIR: options.dataDir })
  if (options.workerConcurrency !== undefined) env["WORKER_CONCURRENCY"] = String(options.workerConcurrency)
  const nodeArgs = options.cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]
  const proc = spawn(process.execPath, [...nodeArgs, main], { env, stdio: ["ignore", "pipe", "inherit"] })
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  return new Promise((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      reject(new Error(`The server did not start within 30 s; it printed: ${out}`))
    }, 30_000)
    proc.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`The server exited (${signal ?? code}) before it listened; it printed: ${out}`))
    })
    proc.stdout.setEncoding("utf8")
    proc.stdout.on("data", (chunk: string) => {
      if (out.length < 10_000) out += chunk
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (match === null) return
      clearTimeout(timer)
      // later output (none expected) is read and dropped
      proc.stdout.removeAllListeners("data")
      proc.stdout.resume()
      resolve({
        port: Number(match[1]),
        pid: proc.pid!,
        stop: async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return
          proc.kill("SIGTERM")
          const kill = setTimeout(() => proc.kill("SIGKILL"), 30_000)
          await exited
          clearTimeout(kill)
        }
      })
    })
  })
}

/** Clock ticks per second of /proc/{pid}/stat (100 on Linux everywhere in practice). */
const ticksPerSecond = 100

/** The CPU time (user + system, all threads) a process has used so far, in seconds; NaN where /proc is absent. */
export const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // the fields after the command name (which may contain spaces) in parentheses
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}
