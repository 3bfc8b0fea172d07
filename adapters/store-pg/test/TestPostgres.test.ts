import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findPostgresBinDir, startTestPostgres, type TestPostgres } from "../src/testing/index.js"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, "../../..")

const query = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })

// Without binaries, a DATABASE_URL machine skips the local-server tests; a machine with neither fails them,
// with the message that says what to install.
const localServerUnavailable = process.env["DATABASE_URL"] !== undefined && (await findPostgresBinDir()) === undefined

describe.skipIf(localServerUnavailable)("startTestPostgres, local server", () => {
  let server: TestPostgres
  let tempDir: string

  beforeAll(async () => {
    server = await startTestPostgres({ databaseUrl: null })
    const [row] = await query(server.url, "SHOW data_directory")
    tempDir = dirname(String(row!["data_directory"]))
  })

  afterAll(() => server?.stop())

  it("describes itself", () => {
    expect(server.host).toBe("127.0.0.1")
    expect(server.user).toBe("postgres")
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`)
    expect(existsSync(tempDir)).toBe(true)
  })

  it("creates distinct, empty, usable databases", async () => {
    const first = await server.createDatabase()
    const second = await server.createDatabase()
    expect(first).not.toBe(second)
    expect(first).toMatch(new RegExp(`^postgres://postgres@127\\.0\\.0\\.1:${server.port}/t_[0-9a-f]{16}$`))

    expect(await query(first, "SELECT 1 AS one")).toEqual([{ one: 1 }])
    expect(await query(second, "SELECT 1 AS one")).toEqual([{ one: 1 }])

    await query(first, "CREATE TABLE jobs (id int PRIMARY KEY)")
    expect(await query(first, "SELECT to_regclass('public.jobs') IS NOT NULL AS present")).toEqual([{ present: true }])
    expect(await query(second, "SELECT to_regclass('public.jobs') IS NOT NULL AS present")).toEqual([
      { present: false }
    ])
  })

  it("uses a given name, and rejects names that need quoting", async () => {
    const url = await server.createDatabase("named_db")
    expect(url.endsWith("/named_db")).toBe(true)
    expect(await query(url, "SELECT current_database() AS db")).toEqual([{ db: "named_db" }])
    await expect(server.createDatabase(`x"; DROP DATABASE postgres; --`)).rejects.toThrow(/Invalid test database name/)
  })

  it("runs with the test settings", async () => {
    const rows = await query(
      server.url,
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'max_connections') ORDER BY name"
    )
    expect(rows).toEqual([
      { name: "fsync", setting: "off" },
      { name: "full_page_writes", setting: "off" },
      { name: "max_connections", setting: "200" },
      { name: "synchronous_commit", setting: "off" }
    ])
  })

  it("serves a DATABASE_URL server: creates databases there and drops them on stop, leaving the server up", async () => {
    const external = await startTestPostgres({ databaseUrl: server.url })
    expect(external).toMatchObject({ url: server.url, host: "127.0.0.1", port: server.port, user: "postgres" })
    const url = await external.createDatabase()
    const name = url.slice(url.lastIndexOf("/") + 1)
    expect(await query(url, "SELECT current_database() AS db")).toEqual([{ db: name }])

    await external.stop()
    await external.stop()
    expect(await query(server.url, `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${name}'`)).toEqual([
      { n: 0 }
    ])
    expect(await query(server.url, "SELECT 1 AS one")).toEqual([{ one: 1 }])
    await expect(external.createDatabase()).rejects.toThrow(/stopped/)
  })

  it("takes DATABASE_URL from the environment", async () => {
    const saved = process.env["DATABASE_URL"]
    process.env["DATABASE_URL"] = server.url
    try {
      const external = await startTestPostgres()
      expect(external.url).toBe(server.url)
      await external.stop()
    } finally {
      if (saved === undefined) delete process.env["DATABASE_URL"]
      else process.env["DATABASE_URL"] = saved
    }
  })

  it("stop() shuts the server down and removes its directory", async () => {
    await server.stop()
    expect(await refusesConnections(server.port)).toBe(true)
    expect(existsSync(tempDir)).toBe(false)
    await server.stop() // idempotent
    await expect(server.createDatabase()).rejects.toThrow(/stopped/)
  })
})

// The child runs the built module with plain node (`npm test` builds first): no loader process between the signal
// and the process that owns the server.
const builtModule = join(repoRoot, "adapters/store-pg/dist/testing/index.js")

/** Runs, in a child process, a script that starts a server and never stops it; `end` ends that process. */
const forgetServer = async (end: "exit" | "SIGTERM" | "SIGKILL") => {
  const scriptDir = await mkdtemp(join(tmpdir(), "scriptorium-pg-orphan-"))
  try {
    const script = join(scriptDir, "forget.mjs")
    const module = JSON.stringify(builtModule)
    await writeFile(
      script,
      `import { createRequire } from "node:module"\n` +
        `import { startTestPostgres } from ${module}\n` +
        `const pg = createRequire(${module})("pg")\n` +
        `const server = await startTestPostgres({ databaseUrl: null })\n` +
        `const client = new pg.Client({ connectionString: await server.createDatabase() })\n` +
        `await client.connect()\n` +
        `const { rows } = await client.query("SHOW data_directory")\n` +
        `await client.end()\n` +
        `console.log(JSON.stringify({ port: server.port, dataDirectory: rows[0].data_directory }))\n` +
        (end === "exit" ? "" : `setInterval(() => {}, 1000)\n`)
    )
    const child = spawn(process.execPath, [script], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] })
    const exited = new Promise((resolve) => child.once("exit", resolve))
    let output = ""
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        const found = output.split("\n").find((l) => l.startsWith("{"))
        if (found) resolve(found)
      })
      child.once("exit", (code) => reject(new Error(`script exited (${code}) before starting a server:\n${output}`)))
    })
    const { port, dataDirectory } = JSON.parse(line) as { port: number; dataDirectory: string }
    if (end !== "exit") child.kill(end)
    await exited
    return { port, dir: dirname(dataDirectory) }
  } finally {
    await rm(scriptDir, { recursive: true, force: true })
  }
}

const eventually = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  return check()
}

describe.skipIf(localServerUnavailable || !existsSync(builtModule))("startTestPostgres, forgotten server", () => {
  it("is gone, with its directory, as soon as its process exits without stop()", async () => {
    const { port, dir } = await forgetServer("exit")
    expect(await refusesConnections(port)).toBe(true) // the exit hook is synchronous
    expect(existsSync(dir)).toBe(false)
  })

  it.each(["SIGTERM", "SIGKILL"] as const)("is gone, with its directory, soon after its process gets %s", { timeout: 30_000 }, async (signal) => {
    const { port, dir } = await forgetServer(signal)
    expect(await eventually(() => refusesConnections(port))).toBe(true)
    expect(await eventually(async () => !existsSync(dir))).toBe(true)
  })
})
