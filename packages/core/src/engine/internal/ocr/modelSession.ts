/**
 * Loading a model into an onnxruntime session, with its graph rewritten first (graphFusion.ts) unless told not to:
 * one way for the OCR engine and the recogniser threads to build their sessions, so both run the same graph.
 */
import { readFileSync } from "node:fs"
import * as ort from "onnxruntime-node"
import { messageOf } from "../../../internal/ErrorText.js"
import { fuseGraph } from "./graphFusion.js"

/** onnxruntime's options for an OCR model: `threads` per run, operators one after another, every optimisation. */
export const sessionOptions = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all"
})

/** A session for the model at `path`; a graph with nothing to rewrite (or with external data) loads as it is. */
export const loadSession = async (
  path: string,
  fuse: boolean,
  options: ort.InferenceSession.SessionOptions
): Promise<ort.InferenceSession> => {
  if (!fuse) return ort.InferenceSession.create(path, options)
  const fused = fuseGraph(new Uint8Array(readFileSync(path)))
  const rewritten = Object.values(fused.rewrites).some((n) => n > 0)
  if (!rewritten) return ort.InferenceSession.create(path, options)
  return ort.InferenceSession.create(fused.bytes, options).catch((e: unknown) => {
    throw new Error(`the rewritten graph (fuseGraphs: false loads the file unchanged): ${messageOf(e)}`)
  })
}
