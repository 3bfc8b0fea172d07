/**
 * A real, throwaway PostgreSQL for tests and benchmarks.
 *
 * The PostgreSQL JobStore must be tested against a real server (SKIP LOCKED, advisory locks, LISTEN/NOTIFY
 * and transaction isolation cannot be faked), yet `npm test` has to work on a fresh machine with no setup.
 * So:
 *
 * - When `DATABASE_URL` is set, that server is used as it is: nothing is started, and every database made
 *   with `createDatabase` is dropped again by `stop()`.
 * - Otherwise the locally installed server binaries (Debian's `postgresql` package puts them in
 *   /usr/lib/postgresql/<version>/bin; elsewhere `initdb` on PATH) are used to create a cluster in a temporary
 *   directory and run it on a free port of 127.0.0.1, tuned for speed rather than durability (fsync off, ...).
 *   `stop()` shuts it down and deletes the directory. No server outlives its process: if `stop()` was never
 *   called, a process `exit` hook kills it, and a tiny watchdog shell does so when the process dies of a signal
 *   (vitest ends its workers with SIGTERM) or is killed outright.
 *   `initdb` refuses to run as root (as CI does), so under root the server runs as the `postgres` system user.
 *
 * Each test should take its own empty database from `createDatabase()`: a plain CREATE DATABASE, ~30 ms.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from "node:fs"
import { access, chown, mkdtemp, readdir, readFile, realpath, rm, statfs } from "node:fs/promises"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { promisify } from "node:util"
import { Effect, type Scope } from "effect"

/** A PostgreSQL server that tests may create databases on. */
export interface TestPostgres {
  /** URL of the server's maintenance database (`postgres`), or `DATABASE_URL` as given. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly user: string
  /** Creates a fresh, empty database (named `t_<random>` unless `name` is given) and returns its URL. */
  createDatabase(name?: string): Promise<string>
  /** Stops the server and deletes its files; on a `DATABASE_URL` server, drops the databases made here. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startTestPostgres}. */
export interface StartTestPostgresOptions {
  /** TCP port for a locally started server; default: a free one. */
  readonly port?: number
  /** Server to use instead of starting one; default `process.env.DATABASE_URL`. `null` always starts a local one. */
  readonly databaseUrl?: string | null
}

/** Uses `DATABASE_URL` (or `options.databaseUrl`) when set, else starts a private local server. */
export const startTestPostgres = (options: StartTestPostgresOptions = {}): Promise<TestPostgres> => {
  const databaseUrl = options.databaseUrl === undefined ? process.env["DATABASE_URL"] : options.databaseUrl
  return databaseUrl ? useExistingPostgres(databaseUrl) : startLocalPostgres(options.port)
}

/** {@link startTestPostgres} as a scoped Effect: the server is stopped when the scope closes. */
export const scopedTestPostgres = (
  options: StartTestPostgresOptions = {}
): Effect.Effect<TestPostgres, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startTestPostgres(options), catch: toError }),
    (server) => Effect.promise(() => server.stop())
  )

/** Where the server binaries (`initdb`, `postgres`) are: the newest /usr/lib/postgresql/<v>/bin, else `initdb`'s dir on PATH. */
export const findPostgresBinDir = async (): Promise<string | undefined> => {
  const debianRoot = "/usr/lib/postgresql"
  const versions = await readdir(debianRoot).catch(() => [] as Array<string>)
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a) || b.localeCompare(a))
  for (const version of versions) {
    const dir = join(debianRoot, version, "bin")
    if (isExecutable(join(dir, "initdb")) && isExecutable(join(dir, "postgres"))) return dir
  }
  for (const pathDir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (pathDir === "" || !isExecutable(join(pathDir, "initdb"))) continue
    const dir = dirname(await realpath(join(pathDir, "initdb")))
    if (isExecutable(join(dir, "postgres"))) return dir
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// pg, loaded without type declarations of its own (there is no @types/pg here): only what is used is typed.

interface PgClient {
  connect(): Promise<unknown>
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>
  end(): Promise<void>
  on(event: "error", listener: (error: Error) => void): unknown
}
interface PgModule {
  Client: new (config: {
    connectionString?: string
    host?: string
    port?: number
    user?: string
    database?: string
    connectionTimeoutMillis?: number
  }) => PgClient
}
const pg = createRequire(import.meta.url)("pg") as PgModule

const newClient = (config: ClientConfig): PgClient => {
  const client = new pg.Client(config)
  client.on("error", () => {}) // e.g. the server going away under an idle client: not a reason to crash
  return client
}

// ---------------------------------------------------------------------------------------------------------------
// Databases

const databaseNamePattern = /^[a-z_][a-z0-9_]{0,62}$/

const newDatabaseName = (name: string | undefined): string => {
  const chosen = name ?? `t_${randomBytes(8).toString("hex")}`
  if (!databaseNamePattern.test(chosen)) throw new Error(`Invalid test database name: ${JSON.stringify(chosen)}`)
  return chosen
}

const withDatabase = (serverUrl: string, database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

type ClientConfig = ConstructorParameters<PgModule["Client"]>[0]

/**
 * Runs statements on a fresh connection, closed right after. Connecting takes a few ms; a connection kept open
 * between calls would also keep the process alive if `stop()` is forgotten.
 */
const withClient = async <A>(config: ClientConfig, use: (client: PgClient) => Promise<A>): Promise<A> => {
  const client = newClient(config)
  try {
    await client.connect()
    return await use(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// An existing server (DATABASE_URL)

const useExistingPostgres = async (databaseUrl: string): Promise<TestPostgres> => {
  const parsed = new URL(databaseUrl)
  const admin: ClientConfig = { connectionString: databaseUrl }
  await withClient(admin, (client) => client.query("SELECT 1")).catch((error: unknown) => {
    const where = `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}` // no password in messages
    throw new Error(`Cannot use the DATABASE_URL server (${where}): ${toError(error).message}`, { cause: error })
  })
  const created: Array<string> = []
  let stopped: Promise<void> | undefined
  return {
    url: databaseUrl,
    host: decodeURIComponent(parsed.hostname) || "localhost",
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || process.env["PGUSER"] || userInfo().username,
    createDatabase: async (name) => {
      if (stopped) throw new Error("TestPostgres was stopped")
      const database = newDatabaseName(name)
      await withClient(admin, (client) => client.query(`CREATE DATABASE "${database}"`))
      created.push(database)
      return withDatabase(databaseUrl, database)
    },
    stop: () =>
      (stopped ??= created.length === 0
        ? Promise.resolve()
        : withClient(admin, async (client) => {
            for (const database of created.splice(0)) {
              await client
                .query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`) // PostgreSQL 13+
                .catch(() => client.query(`DROP DATABASE IF EXISTS "${database}"`))
            }
          }))
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A local server of our own

const host = "127.0.0.1"
const superuser = "postgres"
const startTimeoutMs = 30_000
const execFileAsync = promisify(execFile)

const serverSettings = {
  listen_addresses: host,
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "200",
  shared_buffers: "128MB",
  max_wal_size: "256MB" // each CREATE DATABASE logs ~8 MB: keep pg_wal from growing to the default 1 GB
}

interface RunAs {
  readonly uid: number
  readonly gid: number
}

interface Running {
  readonly pid: number
  readonly dir: string
  readonly dataDir: string
  readonly watchdog: ChildProcess
}

/** Servers started here and not yet stopped: the `exit` hook kills them. */
const running = new Set<Running>()
let exitHookInstalled = false

const killAllSync = () => {
  for (const server of running) killSync(server)
  running.clear()
}

/** Immediate shutdown (SIGQUIT: the server still frees its shared memory), SIGKILL after 2 s, then the files go. */
const killSync = (server: Running) => {
  server.watchdog.kill("SIGKILL")
  const pidFile = join(server.dataDir, "postmaster.pid")
  try {
    process.kill(server.pid, "SIGQUIT")
    const sleeper = new Int32Array(new SharedArrayBuffer(4))
    const deadline = Date.now() + 2_000
    while (existsSync(pidFile) && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 10)
    if (existsSync(pidFile)) process.kill(server.pid, "SIGKILL")
  } catch {
    // already gone
  }
  rmSync(server.dir, { recursive: true, force: true })
}

/**
 * The `exit` hook does not run when the process dies of a signal, and vitest ends its worker processes with
 * SIGTERM. So a small shell, deaf to the usual signals, waits for its stdin (a pipe from this process) to close,
 * which happens however this process ends, and then does what `killSync` does. `stop()` kills it when done.
 * Arguments: postmaster pid, data dir, temp dir.
 */
const watchdogScript = `trap '' INT TERM HUP QUIT
read -r _ignored
kill -QUIT "$1" 2>/dev/null
i=0
while [ -e "$2/postmaster.pid" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -e "$2/postmaster.pid" ]; then kill -KILL "$1" 2>/dev/null; fi
rm -rf "$3"
`

const startWatchdog = (pid: number, dataDir: string, dir: string): ChildProcess => {
  const watchdog = spawn("/bin/sh", ["-c", watchdogScript, "scriptorium-pg-watchdog", String(pid), dataDir, dir], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true // its own process group: a Ctrl+C meant for us does not reach it
  })
  watchdog.on("error", () => {}) // no /bin/sh: the exit hook alone will have to do
  watchdog.unref()
  ;(watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.()
  return watchdog
}

const startLocalPostgres = async (requestedPort: number | undefined): Promise<TestPostgres> => {
  const binDir = await findPostgresBinDir()
  if (binDir === undefined) {
    throw new Error(
      "No PostgreSQL server binaries found (looked for initdb and postgres in /usr/lib/postgresql/*/bin and on PATH). " +
        "Install them (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL to a server " +
        "on which the tests may create databases."
    )
  }
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined
  const dir = await mkdtemp(join(await tempRoot(), "scriptorium-pg-"))
  const dataDir = join(dir, "data")
  const logFile = join(dir, "postgres.log")
  try {
    if (runAs) await chown(dir, runAs.uid, runAs.gid)
    await initdb(binDir, dataDir, dir, runAs)
    for (let attempt = 1; ; attempt++) {
      const port = requestedPort ?? (await freePort())
      const started = await startServer({ binDir, dir, dataDir, logFile, port, runAs }).catch(async (error: unknown) => {
        const log = await readFile(logFile, "utf8").catch(() => "")
        const portTaken = /could not bind|address already in use/i.test(log)
        if (requestedPort === undefined && portTaken && attempt < 3) return undefined // lost a race for the port
        throw error
      })
      if (started) return started
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    throw error
  }
}

/**
 * Where the cluster goes: os.tmpdir(), except that without an explicit TMPDIR a roomy /dev/shm (tmpfs) is
 * preferred. Every CREATE DATABASE writes the ~8 MB template twice (data + WAL); on a disk that took 30-400 ms
 * per database here, against a steady 25-30 ms in memory.
 */
const tempRoot = async (): Promise<string> => {
  if (process.env["TMPDIR"] === undefined) {
    try {
      const shm = "/dev/shm"
      const { bavail, bsize } = await statfs(shm)
      await access(shm, constants.W_OK)
      if (bavail * bsize >= 2 * 1024 ** 3) return shm
    } catch {
      // no /dev/shm
    }
  }
  return tmpdir()
}

const postgresUser = async (): Promise<RunAs> => {
  try {
    const [uid, gid] = await Promise.all(
      ["-u", "-g"].map(async (flag) => Number((await execFileAsync("id", [flag, superuser])).stdout.trim()))
    )
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid: uid!, gid: gid! }
  } catch {
    // fall through
  }
  throw new Error(
    "Running as root, and initdb refuses to run as root, but there is no `postgres` user to run the test server as. " +
      "Install PostgreSQL through the package manager (`apt-get install postgresql` creates the user), " +
      "run the tests as another user, or set DATABASE_URL."
  )
}

const initdb = async (binDir: string, dataDir: string, cwd: string, runAs: RunAs | undefined) => {
  const args = ["-D", dataDir, "-A", "trust", "-U", superuser, "--no-sync", "-E", "UTF8", "--locale=C"]
  try {
    await execFileAsync(join(binDir, "initdb"), args, { cwd, ...runAs, maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string }
    throw new Error(
      `initdb failed (${join(binDir, "initdb")} ${args.join(" ")}${runAs ? ", as user postgres" : ""}): ` +
        `${toError(error).message}\n${tail(`${stdout}\n${stderr}`)}`
    )
  }
}

const startServer = async (config: {
  readonly binDir: string
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  readonly runAs: RunAs | undefined
}): Promise<TestPostgres> => {
  const { binDir, dir, dataDir, logFile, port, runAs } = config
  const args = ["-D", dataDir, "-p", String(port), "-k", dir]
  for (const [name, value] of Object.entries(serverSettings)) args.push("-c", `${name}=${value}`)
  const log = openSync(logFile, "a")
  let child: ChildProcess
  try {
    // uid/gid, not runuser: the pid is then the postmaster's own, which the exit hook can signal.
    child = spawn(join(binDir, "postgres"), args, { cwd: dir, stdio: ["ignore", log, log], ...runAs })
  } finally {
    closeSync(log)
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ?? code ?? "?"))
    child.once("error", (error) => resolve(error.message))
  })
  if (child.pid === undefined) {
    throw new Error(`Could not start ${join(binDir, "postgres")}: ${await exited}`)
  }
  const record: Running = { pid: child.pid, dir, dataDir, watchdog: startWatchdog(child.pid, dataDir, dir) }
  running.add(record)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on("exit", killAllSync)
  }
  child.unref() // a forgotten server must not keep the process alive; the exit hook takes care of it
  const readLog = () => readFile(logFile, "utf8").catch(() => "")

  const shutdown = async (timeoutMs: number) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT") // fast shutdown
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      await exited
      clearTimeout(timer)
    }
  }
  const forget = () => {
    running.delete(record)
    record.watchdog.kill("SIGKILL")
  }

  try {
    await waitUntilAccepting(port, exited, readLog)
  } catch (error) {
    await shutdown(5_000).finally(forget)
    throw error
  }

  const url = `postgres://${superuser}@${host}:${port}/postgres`
  const admin: ClientConfig = { host, port, user: superuser, database: "postgres" }
  let stopped: Promise<void> | undefined
  return {
    url,
    host,
    port,
    user: superuser,
    createDatabase: async (name) => {
      if (stopped) throw new Error("TestPostgres was stopped")
      const database = newDatabaseName(name)
      await withClient(admin, (client) => client.query(`CREATE DATABASE "${database}"`))
      return withDatabase(url, database)
    },
    stop: () =>
      (stopped ??= (async () => {
        await shutdown(30_000)
        try {
          await rm(dir, { recursive: true, force: true })
        } finally {
          forget()
        }
      })())
  }
}

const waitUntilAccepting = async (port: number, exited: Promise<number | string>, readLog: () => Promise<string>) => {
  let exit: number | string | undefined
  void exited.then((status) => (exit = status))
  const deadline = Date.now() + startTimeoutMs
  let lastError: unknown
  for (;;) {
    if (exit !== undefined) {
      throw new Error(`PostgreSQL exited during startup (${exit}). Server log:\n${tail(await readLog())}`)
    }
    const client = newClient({ host, port, user: superuser, database: "postgres", connectionTimeoutMillis: 2_000 })
    try {
      await client.connect()
      await client.end()
      return
    } catch (error) {
      lastError = error
      await client.end().catch(() => undefined)
    }
    if (Date.now() > deadline) {
      throw new Error(
        `PostgreSQL did not accept connections on ${host}:${port} within ${startTimeoutMs / 1000} s ` +
          `(last error: ${toError(lastError).message}). Server log:\n${tail(await readLog())}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// ---------------------------------------------------------------------------------------------------------------

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

const tail = (text: string, lines = 30) => text.trimEnd().split("\n").slice(-lines).join("\n")

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))
