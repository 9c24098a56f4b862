/**
 * Values of a running tfjs model and their layout. The IR is channels-first (NCHW, NCDHW); tfjs
 * convolves and pools channels-last. A value keeps its tensor in whatever physical order the op
 * that made it found convenient, with `layout[j]` = the logical axis stored at physical axis j.
 * Logical reorderings (permute, transpose) then only rewrite `layout`; data moves when an op
 * needs a specific order, and at most once per such op.
 */
import type { Tensor, Tf } from "../types.js";

export class Act {
  constructor(
    readonly t: Tensor,
    readonly layout: readonly number[],
  ) {}

  get rank(): number {
    return this.layout.length;
  }

  /** Where logical axis `axis` sits physically. */
  axis(axis: number): number {
    return this.layout.indexOf(axis);
  }

  /** The logical shape (channels-first, as the IR sees it). */
  get shape(): number[] {
    return this.layout.map((_, logical) => this.t.shape[this.axis(logical)]!);
  }
}

export function identity(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

/** [0, 2, …, r-1, 1]: batch, spatial dims, channels last. */
export function channelsLast(rank: number): number[] {
  return rank <= 2 ? identity(rank) : [0, ...identity(rank).slice(2), 1];
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** The physical tensor of `x` rearranged to `target` (a transpose, or nothing when already so). */
export function toLayout(tf: Tf, x: Act, target: readonly number[]): Tensor {
  const perm = target.map((logical) => x.axis(logical));
  return isIdentity(perm) ? x.t : tf.transpose(x.t, perm);
}

export function relayout(tf: Tf, x: Act, target: readonly number[]): Act {
  return new Act(toLayout(tf, x, target), target);
}

/** The tensor in logical (channels-first) order. */
export function logical(tf: Tf, x: Act): Tensor {
  return toLayout(tf, x, identity(x.rank));
}

export function channelsLastTensor(tf: Tf, x: Act): Tensor {
  return toLayout(tf, x, channelsLast(x.rank));
}

/** `layout` with logical axis `axis` moved to the last physical position. */
export function withAxisLast(layout: readonly number[], axis: number): number[] {
  return [...layout.filter((l) => l !== axis), axis];
}

/**
 * The layout left after removing logical axes `removed` from the physical tensor: the remaining
 * axes keep their physical order and are renumbered logically.
 */
export function layoutWithout(layout: readonly number[], removed: readonly number[]): number[] {
  const kept = layout.filter((l) => !removed.includes(l));
  const sorted = [...kept].sort((a, b) => a - b);
  return kept.map((l) => sorted.indexOf(l));
}

/** A shape of ones with `size` at physical axis `at` (per-channel parameters against a value). */
export function alongAxis(rank: number, at: number, size: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === at ? size : 1));
}
