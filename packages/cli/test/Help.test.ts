/**
 * The command line itself, on the built binary: `--help` of the command and of each sub-command exits 0 and
 * documents its flags and the exit codes; usage errors (an unknown command or flag, a bad value, a missing argument,
 * no command at all) exit 2 with a message on stderr and nothing on stdout.
 */
import { describe, expect, it, vi } from "vitest"
import { run } from "./cli.js"

// every test starts the binary, often several times; on a busy machine each start takes seconds
vi.setConfig({ testTimeout: 180_000 })

const commands: ReadonlyArray<[string, ReadonlyArray<string>]> = [
  ["process", ["--output", "--concurrency", "--ocr-threads", "<FILE>"]],
  ["serve", ["--port", "--host", "--data-dir"]],
  ["worker", ["--data-dir", "--concurrency", "--ocr-threads"]],
  ["submit", ["--server", "--token", "--wait", "--json", "<FILE>"]],
  ["status", ["--server", "--token", "--json", "<ID>"]],
  ["list", ["--server", "--token", "--status", "--json"]],
  ["cancel", ["--server", "--token", "<ID>"]]
]

// each run is a separate process that mostly waits on module loading: run them side by side
describe.concurrent("scriptorium --help", () => {
  it("lists every command and the exit codes", async () => {
    const ran = await run(["--help"])
    expect(ran.code).toBe(0)
    for (const [name] of commands) expect(ran.stdout).toContain(`- ${name}`)
    expect(ran.stdout).toContain("Exit codes: 0 success; 1 a job failed or was cancelled; 2 usage error")
  })

  it.each(commands)("%s --help documents its flags and the exit codes", async (name, flags) => {
    const ran = await run([name, "--help"])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toContain(`$ ${name}`)
    for (const flag of flags) expect(ran.stdout).toContain(flag)
    expect(ran.stdout).toContain("3 server unreachable or unauthorized; 4 unknown job id")
  })
})

describe.concurrent("usage errors exit 2", () => {
  it.each([
    ["no command", [], "name a command"],
    ["an unknown command", ["frobnicate"], "Invalid subcommand"],
    ["an unknown flag", ["list", "--server", "http://127.0.0.1:9", "--colour"], "--colour"],
    ["a value that is not a number", ["serve", "--port", "eighty"], "eighty"],
    ["a port out of range", ["serve", "--port", "70000"], "--port must be a whole number from 0 to 65535, but is 70000."],
    [
      "a status that is not one",
      ["list", "--server", "http://127.0.0.1:9", "--status", "done"],
      "Expected one of the following cases: pending, processing, completed, failed, cancelled"
    ],
    ["a missing job id", ["status", "--server", "http://127.0.0.1:9"], "ID"],
    ["no server for a remote command", ["status", "some-id"], "no server given: pass --server"],
    ["a server that is not a URL", ["status", "some-id", "--server", "localhost:8000"], "--server must be an http(s) URL"]
  ] as const)("%s", async (_, args, message) => {
    const ran = await run(args)
    expect(ran.code).toBe(2)
    expect(ran.stderr).toContain(message)
    expect(ran.stdout).toBe("")
  })

  it("an unusable environment variable is a usage error that names it", async () => {
    const ran = await run(["worker", "--data-dir", "/tmp"], { OCR_THREADS: "lots" })
    expect(ran.code).toBe(2)
    expect(ran.stderr).toContain("OCR_THREADS must be a whole number of threads, 1 or more, but is 'lots'.")
  })
})
