/**
 * Reads the `.cpuprofile` files `node --cpu-prof` writes (one per thread) and names where the time went: the top
 * functions by self time, and self time by package (a dependency under node_modules, a Scriptorium workspace, Node's
 * own code, the garbage collector). Idle time is left out of the percentages.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Self time of one profile. */
export interface ProfileSummary {
  readonly file: string
  /** Busy (non-idle) time sampled, ms. */
  readonly busyMs: number
  readonly topFunctions: ReadonlyArray<Ranked>
  readonly packages: ReadonlyArray<Ranked>
  /**
   * Total time (self and callees) under Scriptorium's own functions. Effect's runtime runs each step from its fiber
   * loop, so this counts only what a function does synchronously, but names which of our steps are costly.
   */
  readonly ownInclusive: ReadonlyArray<Ranked>
}

/** A function or package with its time and its share of the busy time. */
export interface Ranked {
  readonly name: string
  readonly ms: number
  readonly share: number
}

/** Where the code of a frame comes from: `effect`, `@effect/platform`, `scriptorium/core`, `node`, `(gc)`. */
export const packageOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "(native)"
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules !== null) {
    // a workspace package reached through its node_modules link is ours
    return modules[1]!.startsWith("@scriptorium/") ? `scriptorium/${modules[1]!.slice(13)}` : modules[1]!
  }
  const workspace = /\/(packages|adapters|examples|benchmarks)\/([^/]+)\//.exec(url)
  if (workspace !== null) return `scriptorium/${workspace[2]}`
  if (url.startsWith("node:")) return "node"
  return url
}

const shortUrl = (url: string): string => {
  const modules = url.lastIndexOf("node_modules/")
  if (modules >= 0) return url.slice(modules + 13)
  const workspace = /\/((?:packages|adapters|examples|benchmarks)\/.*)$/.exec(url)
  return workspace !== null ? workspace[1]! : url.replace(/^file:\/\//, "")
}

/** Self time by function and by package, from one profile file. */
export const summarize = (file: string, top = 15): ProfileSummary => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const selfUs = new Map<number, number>()
  // timeDeltas[i] is the time before sample i: the time of sample i is the delta that follows it
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i + 1] ?? 0))
  }
  const functions = new Map<string, number>()
  const packages = new Map<string, number>()
  const own = new Map<string, number>()
  let busy = 0
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined || frame.functionName === "(idle)") continue
    busy += us
    functions.set(nameOf(frame), (functions.get(nameOf(frame)) ?? 0) + us)
    const pkg = packageOf(frame)
    packages.set(pkg, (packages.get(pkg) ?? 0) + us)
    // every distinct Scriptorium function on the stack gets the sample's time once
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame
      if (!packageOf(f).startsWith("scriptorium/")) continue
      const name = nameOf(f)
      if (seen.has(name)) continue
      seen.add(name)
      own.set(name, (own.get(name) ?? 0) + us)
    }
  }
  const ranked = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({
      name,
      ms: us / 1_000,
      share: busy > 0 ? us / busy : 0
    }))
  return {
    file,
    busyMs: busy / 1_000,
    topFunctions: ranked(functions, top),
    packages: ranked(packages, 10),
    ownInclusive: ranked(own, 10).filter((r) => r.share >= 0.01)
  }
}

const nameOf = (frame: CallFrame): string =>
  `${frame.functionName || "(anonymous)"}${frame.url === "" ? "" : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`}`

/** Every profile in a folder, the busiest first. */
export const summarizeFolder = (dir: string, top = 15): ReadonlyArray<ProfileSummary> =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => summarize(join(dir, name), top))
    .sort((a, b) => b.busyMs - a.busyMs)

/** A summary as markdown lines. */
export const describe = (summary: ProfileSummary, label: string): ReadonlyArray<string> => {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`
  return [
    `${label}: ${(summary.busyMs / 1_000).toFixed(1)} s busy (idle left out). By package: ` +
    summary.packages.map((p) => `${p.name} ${pct(p.share)}`).join(", ") + ".",
    "",
    "| self time | share | function |",
    "|--:|--:|---|",
    ...summary.topFunctions.map((f) => `| ${f.ms.toFixed(0)} ms | ${pct(f.share)} | \`${f.name}\` |`),
    "",
    ...(summary.ownInclusive.length === 0 ? [] : [
      "Under Scriptorium's own functions (self and callees, synchronous part): " +
      summary.ownInclusive.map((f) => `\`${f.name}\` ${pct(f.share)}`).join(", ") + ".",
      ""
    ])
  ]
}
