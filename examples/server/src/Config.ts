/**
 * The standalone server's configuration, read from environment variables. Every variable has a default, so the server
 * starts with none set; a variable set to something unusable stops the start with a sentence that names it.
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | PORT | 8000 | TCP port to listen on (0: any free port) |
 * | HOST | 0.0.0.0 | address to listen on |
 * | SCRIPTORIUM_DATA_DIR | ./data | where the SQLite database (`jobs.db`) and the files (`blobs/`) live |
 * | DATABASE_URL | (unset) | a `postgres://` URL: keep the jobs in PostgreSQL instead of SQLite |
 * | AUTH_TOKEN | (unset) | when set, requests need `Authorization: Bearer <token>` (except /health, /docs) |
 * | MAX_UPLOAD_MB | 100 | the largest upload accepted, in MB |
 * | WORKER_CONCURRENCY | 1 | jobs processed at once by this process (0: none, an API-only server) |
 * | OCR_THREADS | 1 | OCR engines, each in a worker thread reading two pages at once (about 0.6-1 GB each) |
 * | OCR_LINE_THREADS | 2 | threads each engine reads a page's lines on (a page takes about 0.6 of the time on 2; about 0.1 GB each beyond the first) |
 * | JOB_TIMEOUT_SECONDS | 600 | a job running longer than this fails |
 * | LEASE_SECONDS | 30 | how long a crashed server's jobs wait before another worker takes them over |
 * | SHUTDOWN_GRACE_SECONDS | 5 | on SIGTERM/SIGINT, how long running jobs may finish before they are handed back |
 * | FILE_URL_ALLOWED_HOSTS | (unset) | comma-separated hosts (`host` or `host:port`) that `POST /v1/jobs` may fetch a `file_url` from; unset: none |
 * | SYNC_MAX_PAGES | 20 | `POST /v1/jobs?async=false` above this many pages is answered async |
 * | SYNC_WAIT_SECONDS | 60 | how long a sync `POST /v1/jobs` waits before it answers async |
 * | WEBHOOK_ALLOWED_HOSTS | (unset) | comma-separated hosts a job's `webhook_url` may name; unset: any http(s) host |
 * | WEBHOOK_SECRET | (unset) | the key webhook deliveries are signed with (HMAC-SHA256); unset: deliveries are unsigned |
 */
import { Data, Either } from "effect"
import { resolve } from "node:path"

/** The server's settings. */
export interface ServerConfig {
  readonly port: number
  readonly host: string
  /** Absolute path of the data folder. */
  readonly dataDir: string
  readonly databaseUrl: string | undefined
  readonly authToken: string | undefined
  readonly maxUploadBytes: number
  readonly workerConcurrency: number
  readonly ocrThreads: number
  readonly ocrLineThreads: number
  readonly jobTimeoutMs: number
  readonly leaseMs: number
  readonly shutdownGraceMs: number
  /** Hosts a `file_url` may be fetched from; empty: none. */
  readonly fileUrlAllowedHosts: ReadonlyArray<string>
  readonly syncMaxPages: number
  readonly syncWaitMs: number
  readonly webhookSecret: string | undefined
  /** Hosts a webhook may be delivered to; undefined: any. */
  readonly webhookAllowedHosts: ReadonlyArray<string> | undefined
}

/** An environment variable with a value the server cannot use. */
export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly variable: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `${this.variable} must be ${this.expected}, but is '${this.value}'.`
  }
}

type Env = Readonly<Record<string, string | undefined>>

/** The variable's value, or undefined when unset or blank. */
const read = (env: Env, variable: string): string | undefined => {
  const value = env[variable]?.trim()
  return value === undefined || value === "" ? undefined : value
}

const number = (
  env: Env,
  variable: string,
  fallback: number,
  expected: string,
  valid: (n: number) => boolean
): number => {
  const raw = read(env, variable)
  if (raw === undefined) return fallback
  const n = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isFinite(n) || !valid(n)) throw new InvalidConfig({ variable, value: raw, expected })
  return n
}

/** A comma-separated list of hosts (`host` or `host:port`), lower-cased; undefined when unset. */
const hosts = (env: Env, variable: string): ReadonlyArray<string> | undefined => {
  const raw = read(env, variable)
  if (raw === undefined) return undefined
  const list = raw.split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "")
  const invalid = list.find((h) => !/^[a-z0-9.\-\[\]:]+$/.test(h))
  if (invalid !== undefined) {
    throw new InvalidConfig({
      variable,
      value: invalid,
      expected: "a comma-separated list of host names or host:port pairs, e.g. files.example.com,10.0.0.5:9000"
    })
  }
  return list
}

/** Reads the configuration from `env` (usually `process.env`); relative paths are taken from `cwd`. */
export const fromEnv = (env: Env, cwd: string = process.cwd()): Either.Either<ServerConfig, InvalidConfig> => {
  try {
    const port = number(
      env,
      "PORT",
      8000,
      "a whole number from 0 to 65535",
      (n) => Number.isInteger(n) && n >= 0 && n <= 65535
    )
    const host = read(env, "HOST") ?? "0.0.0.0"
    const dataDir = resolve(cwd, read(env, "SCRIPTORIUM_DATA_DIR") ?? "data")
    const databaseUrl = read(env, "DATABASE_URL")
    if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
      throw new InvalidConfig({
        variable: "DATABASE_URL",
        value: databaseUrl.replace(/\/\/[^@/]*@/, "//***@"),
        expected: "a PostgreSQL URL such as postgres://user:password@host:5432/database"
      })
    }
    const authToken = read(env, "AUTH_TOKEN")
    const maxUploadMb = number(env, "MAX_UPLOAD_MB", 100, "a number of megabytes above 0", (n) => n > 0)
    const workerConcurrency = number(
      env,
      "WORKER_CONCURRENCY",
      1,
      "a whole number of jobs, 0 or more",
      (n) => Number.isInteger(n) && n >= 0
    )
    const ocrThreads = number(
      env,
      "OCR_THREADS",
      1,
      "a whole number of threads, 1 or more",
      (n) => Number.isInteger(n) && n >= 1
    )
    const ocrLineThreads = number(
      env,
      "OCR_LINE_THREADS",
      2,
      "a whole number of threads, 1 or more",
      (n) => Number.isInteger(n) && n >= 1
    )
    const jobTimeoutSeconds = number(env, "JOB_TIMEOUT_SECONDS", 600, "a number of seconds above 0", (n) => n > 0)
    const leaseSeconds = number(env, "LEASE_SECONDS", 30, "a number of seconds of at least 1", (n) => n >= 1)
    const shutdownGraceSeconds = number(
      env,
      "SHUTDOWN_GRACE_SECONDS",
      5,
      "a number of seconds, 0 or more",
      (n) => n >= 0
    )
    const fileUrlAllowedHosts = hosts(env, "FILE_URL_ALLOWED_HOSTS") ?? []
    const webhookAllowedHosts = hosts(env, "WEBHOOK_ALLOWED_HOSTS")
    const syncMaxPages = number(
      env,
      "SYNC_MAX_PAGES",
      20,
      "a whole number of pages, 0 or more",
      (n) => Number.isInteger(n) && n >= 0
    )
    const syncWaitSeconds = number(env, "SYNC_WAIT_SECONDS", 60, "a number of seconds, 0 or more", (n) => n >= 0)
    const webhookSecret = read(env, "WEBHOOK_SECRET")
    return Either.right({
      port,
      host,
      dataDir,
      databaseUrl,
      authToken,
      maxUploadBytes: Math.floor(maxUploadMb * 1024 * 1024),
      workerConcurrency,
      ocrThreads,
      ocrLineThreads,
      jobTimeoutMs: Math.round(jobTimeoutSeconds * 1000),
      leaseMs: Math.round(leaseSeconds * 1000),
      shutdownGraceMs: Math.round(shutdownGraceSeconds * 1000),
      fileUrlAllowedHosts,
      syncMaxPages,
      syncWaitMs: Math.round(syncWaitSeconds * 1000),
      webhookSecret,
      webhookAllowedHosts
    })
  } catch (error) {
    if (error instanceof InvalidConfig) return Either.left(error)
    throw error
  }
}
