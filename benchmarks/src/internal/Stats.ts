/**
 * The small figures the benchmarks share: percentiles and medians, number formatting, the machine line that heads
 * every table, and reading positive-number flags.
 */
import { existsSync, readFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"

/** Nearest-rank percentile of sorted values (`p` from 0 to 1); NaN when there are none. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

/** The median (the mean of the middle two for an even count); NaN when there are none. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Three significant figures or so: 1234, 123, 12.3, 1.23. */
export const fmt = (n: number): string =>
  !Number.isFinite(n) ? "–" : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)

/** Milliseconds: 123, 12.3, 1.2. */
export const ms = (n: number): string => (!Number.isFinite(n) ? "–" : n >= 100 ? n.toFixed(0) : n.toFixed(1))

/** The median, and the range when there is more than one value: `12.3 (11.0–13.1)`. */
export const withRange = (values: ReadonlyArray<number>, format: (n: number) => string = fmt): string =>
  values.length <= 1
    ? format(values[0] ?? Number.NaN)
    : `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`

/**
 * `Machine: 2 cores (CPU model), 24 GB RAM, linux x64; Node v20...[; software]. Load average ...` for the top of a
 * report; `software` (e.g. `PostgreSQL 16.4 (...)`) follows the Node version.
 */
export const machineLine = (loadAtStart: number, software?: string): string => {
  const cpu = cpus()
  const { model, flags } = cpuInfo()
  const vector = ["avx512f", "avx512_vnni", "avx512_fp16"].filter((f) => flags.has(f))
  return `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}${model}` +
    `${vector.length > 0 ? `, ${vector.join(" ")}` : ""}), ` +
    `${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM, ${process.platform} ${process.arch}; Node ${process.version}` +
    `${software === undefined ? "" : `; ${software}`}. ` +
    `Load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`
}

/**
 * What /proc/cpuinfo says of the first core (empty off Linux): its family and model numbers, which tell apart CPUs
 * that all call themselves "Intel(R) Xeon(R) Processor" in a VM (engines built for wider vectors gain on newer ones),
 * its listed clock in MHz, and its feature flags.
 */
export const cpuInfo = (): { readonly model: string; readonly mhz: number; readonly flags: ReadonlySet<string> } => {
  const info = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : ""
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim()
  const [family, model] = [field("cpu family"), field("model")]
  return {
    model: family === undefined || model === undefined ? "" : `, family ${family} model ${model}`,
    mhz: Number(field("cpu MHz") ?? Number.NaN),
    flags: new Set((field("flags") ?? "").split(/\s+/))
  }
}

/** A flag's value as a positive number, or `fallback` when unset; exits with a sentence when it is not one. */
export const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined || value === "") return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`${name} must be a positive number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return n
}

/** Milliseconds since an arbitrary origin, from the monotonic high-resolution clock. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
