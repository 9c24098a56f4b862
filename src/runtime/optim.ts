/**
 * Optimizers of the training runtime, one per registry entry (src/policy/registry.ts `optimizer`).
 *
 * The update rules are written out with tf ops on tf.Variables rather than taken from tf.train,
 * so that (a) the arithmetic is PyTorch's (the decoupled decay of AdamW, L2 decay in Adam, SGD's
 * momentum buffer seeded with the first gradient, per-parameter step counts for bias correction),
 * (b) the state is keyed by variable name and can be written to a checkpoint and read back, and
 * (c) a frozen variable is simply not passed and keeps its state untouched for a later stage.
 *
 * State keys are `<variable name>/<slot>`; the per-variable step count is the slot `step`.
 * Slot names follow torch.optim's state_dict (exp_avg, exp_avg_sq, max_exp_avg_sq, exp_inf,
 * momentum_buffer, square_avg, grad_avg, sum).
 */
import { argReader } from "./args.js";
import type { Entry, Optimizer, Tensor, Tf, Variable } from "./types.js";
import { ADAM_STEP, runAdamStep } from "./wasm/adam.js";

/** An Optimizer that also reports its default lr and can free its state tensors. */
export interface RuntimeOptimizer extends Optimizer {
  /** The entry's name. */
  readonly name: string;
  /** The lr to use when no schedule or stage says otherwise (options.lr, else the entry's lr). */
  readonly lr: number;
  /** Frees every state tensor. */
  dispose(): void;
}

type Slots = Record<string, Tensor | undefined>;

/**
 * One update of one variable: from the parameter, its gradient, its slots (undefined before the
 * first step), the 1-based step count and the lr, the new parameter and new slots. Runs inside
 * tf.tidy; returned tensors survive it.
 */
type Rule = (p: Tensor, g: Tensor, s: Slots, t: number, lr: number) => { param: Tensor; slots: Record<string, Tensor> };

// ---------------------------------------------------------------------------------------------
// Argument reading.

const { error: argError, num, bool } = argReader("optimizer");

function betas(entry: Entry): [number, number] {
  const v = entry.args.betas;
  if (v === undefined || v === null) return [0.9, 0.999];
  if (Array.isArray(v) && v.length === 2 && v.every((e) => typeof e === "number")) return [v[0] as number, v[1] as number];
  throw argError(entry, "betas", "a list [beta1, beta2]");
}

// ---------------------------------------------------------------------------------------------
// Update rules (torch.optim 1.13 single-tensor implementations, default arguments elsewhere).

/**
 * Adam and AdamW. Adam adds weight_decay·p to the gradient (L2, torch.optim.Adam); AdamW first
 * shrinks the parameter, p ← p·(1 - lr·weight_decay), then takes the plain Adam step
 * (torch.optim.AdamW). With bias correction:
 *   m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  v̂max ← max(v̂max, v) when amsgrad
 *   p ← p - lr/(1-β1^t) · m / (sqrt(v or v̂max)/sqrt(1-β2^t) + eps)
 */
function adam(tf: Tf, decoupled: boolean, wd: number, [b1, b2]: [number, number], eps: number, amsgrad: boolean): Rule {
  return (p, g, s, t, lr) => {
    if (!amsgrad && tf.getBackend() === "wasm" && tf.getKernel(ADAM_STEP, "wasm")) {
      // The same arithmetic as one loop (wasm/adam.ts).
      const attrs = { beta1: b1, beta2: b2, eps, shrink: decoupled ? 1 - lr * wd : 1, l2: decoupled ? 0 : wd, rootBc2: Math.sqrt(1 - b2 ** t), stepSize: lr / (1 - b1 ** t) };
      const [param, exp_avg, exp_avg_sq] = runAdamStep(tf, p, g, s.exp_avg ?? tf.zerosLike(p), s.exp_avg_sq ?? tf.zerosLike(p), attrs);
      return { param, slots: { exp_avg, exp_avg_sq } };
    }
    let param = p;
    if (wd !== 0) {
      if (decoupled) param = tf.mul(p, 1 - lr * wd);
      else g = tf.add(g, tf.mul(p, wd));
    }
    const m = tf.add(tf.mul(s.exp_avg ?? tf.zerosLike(p), b1), tf.mul(g, 1 - b1));
    const v = tf.add(tf.mul(s.exp_avg_sq ?? tf.zerosLike(p), b2), tf.mul(tf.square(g), 1 - b2));
    const slots: Record<string, Tensor> = { exp_avg: m, exp_avg_sq: v };
    let second = v;
    if (amsgrad) {
      second = tf.maximum(s.max_exp_avg_sq ?? tf.zerosLike(p), v);
      slots.max_exp_avg_sq = second;
    }
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(bc2)), eps);
    param = tf.sub(param, tf.mul(tf.div(m, denom), lr / bc1));
    return { param, slots };
  };
}

/** torch.optim.Adamax: u ← max(β2·u, |g| + eps); p ← p - lr/(1-β1^t) · m / u (L2 weight decay). */
function adamax(tf: Tf, wd: number, [b1, b2]: [number, number], eps: number): Rule {
  return (p, g, s, t, lr) => {
    if (wd !== 0) g = tf.add(g, tf.mul(p, wd));
    const m = tf.add(tf.mul(s.exp_avg ?? tf.zerosLike(p), b1), tf.mul(g, 1 - b1));
    const u = tf.maximum(tf.mul(s.exp_inf ?? tf.zerosLike(p), b2), tf.add(tf.abs(g), eps));
    const param = tf.sub(p, tf.mul(tf.div(m, u), lr / (1 - b1 ** t)));
    return { param, slots: { exp_avg: m, exp_inf: u } };
  };
}

/**
 * torch.optim.SGD (dampening 0): g ← g + wd·p; the buffer starts as the first gradient, then
 * b ← μ·b + g; the step uses b, or g + μ·b with Nesterov momentum.
 */
function sgd(tf: Tf, momentum: number, nesterov: boolean, wd: number): Rule {
  return (p, g, s, _t, lr): ReturnType<Rule> => {
    if (wd !== 0) g = tf.add(g, tf.mul(p, wd));
    if (momentum === 0) return { param: tf.sub(p, tf.mul(g, lr)), slots: {} };
    const prev = s.momentum_buffer;
    const buf = prev === undefined ? tf.clone(g) : tf.add(tf.mul(prev, momentum), g);
    const dir = nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
    return { param: tf.sub(p, tf.mul(dir, lr)), slots: { momentum_buffer: buf } };
  };
}

/**
 * torch.optim.RMSprop: a ← α·a + (1-α)·g²; centred: ḡ ← α·ḡ + (1-α)·g and the denominator is
 * sqrt(a - ḡ²) + eps (clamped at 0 under the root against rounding), else sqrt(a) + eps; with
 * momentum b ← μ·b + g/denominator and p ← p - lr·b, else p ← p - lr·g/denominator.
 */
function rmsprop(tf: Tf, alpha: number, momentum: number, eps: number, wd: number, centered: boolean): Rule {
  return (p, g, s, _t, lr) => {
    if (wd !== 0) g = tf.add(g, tf.mul(p, wd));
    const sq = tf.add(tf.mul(s.square_avg ?? tf.zerosLike(p), alpha), tf.mul(tf.square(g), 1 - alpha));
    const slots: Record<string, Tensor> = { square_avg: sq };
    let avg: Tensor;
    if (centered) {
      const ga = tf.add(tf.mul(s.grad_avg ?? tf.zerosLike(p), alpha), tf.mul(g, 1 - alpha));
      slots.grad_avg = ga;
      avg = tf.add(tf.sqrt(tf.relu(tf.sub(sq, tf.square(ga)))), eps);
    } else {
      avg = tf.add(tf.sqrt(sq), eps);
    }
    if (momentum > 0) {
      const buf = tf.add(tf.mul(s.momentum_buffer ?? tf.zerosLike(p), momentum), tf.div(g, avg));
      slots.momentum_buffer = buf;
      return { param: tf.sub(p, tf.mul(buf, lr)), slots };
    }
    return { param: tf.sub(p, tf.mul(tf.div(g, avg), lr)), slots };
  };
}

/** torch.optim.Adagrad (lr_decay 0, initial accumulator 0): S ← S + g²; p ← p - lr·g/(sqrt(S) + eps). */
function adagrad(tf: Tf, wd: number, eps: number): Rule {
  return (p, g, s, _t, lr) => {
    if (wd !== 0) g = tf.add(g, tf.mul(p, wd));
    const sum = tf.add(s.sum ?? tf.zerosLike(p), tf.square(g));
    return { param: tf.sub(p, tf.mul(tf.div(g, tf.add(tf.sqrt(sum), eps)), lr)), slots: { sum } };
  };
}

/**
 * LAMB (You et al. 2020, Algorithm 2, with Adam's bias correction, as tensorflow-addons' LAMB):
 *   r = m̂ / (sqrt(v̂) + eps) + wd·p;  p ← p - lr · (‖p‖/‖r‖) · r,
 * the trust ratio ‖p‖/‖r‖ taken as 1 when either norm is 0 (fresh zero-initialised biases).
 */
function lamb(tf: Tf, wd: number, [b1, b2]: [number, number], eps: number): Rule {
  return (p, g, s, t, lr) => {
    const m = tf.add(tf.mul(s.exp_avg ?? tf.zerosLike(p), b1), tf.mul(g, 1 - b1));
    const v = tf.add(tf.mul(s.exp_avg_sq ?? tf.zerosLike(p), b2), tf.mul(tf.square(g), 1 - b2));
    const mHat = tf.div(m, 1 - b1 ** t);
    const vHat = tf.div(v, 1 - b2 ** t);
    let r = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
    if (wd !== 0) r = tf.add(r, tf.mul(p, wd));
    const pNorm = tf.norm(p);
    const rNorm = tf.norm(r);
    const ok = tf.logicalAnd(tf.greater(pNorm, 0), tf.greater(rNorm, 0));
    const trust = tf.where(ok, tf.div(pNorm, tf.maximum(rNorm, 1e-30)), tf.onesLike(pNorm));
    const param = tf.sub(p, tf.mul(tf.mul(r, trust), lr));
    return { param, slots: { exp_avg: m, exp_avg_sq: v } };
  };
}

// ---------------------------------------------------------------------------------------------

const defaultLr: Record<string, number> = { adamw: 1e-3, adam: 1e-3, adamax: 2e-3, sgd: 1e-2, lamb: 1e-3, rmsprop: 1e-2, adagrad: 1e-2 };

function ruleFor(tf: Tf, entry: Entry): Rule {
  switch (entry.name) {
    case "adamw":
      return adam(tf, true, num(entry, "weight_decay", 1e-4), betas(entry), num(entry, "eps", 1e-8), bool(entry, "amsgrad", false));
    case "adam":
      return adam(tf, false, num(entry, "weight_decay", 0), betas(entry), num(entry, "eps", 1e-8), bool(entry, "amsgrad", false));
    case "adamax":
      return adamax(tf, num(entry, "weight_decay", 0), betas(entry), num(entry, "eps", 1e-8));
    case "sgd":
      return sgd(tf, num(entry, "momentum", 0.9), bool(entry, "nesterov", false), num(entry, "weight_decay", 0));
    case "rmsprop":
      return rmsprop(
        tf,
        num(entry, "alpha", 0.99),
        num(entry, "momentum", 0),
        num(entry, "eps", 1e-8),
        num(entry, "weight_decay", 0),
        bool(entry, "centered", false),
      );
    case "adagrad":
      return adagrad(tf, num(entry, "weight_decay", 0), num(entry, "eps", 1e-10));
    case "lamb":
      return lamb(tf, num(entry, "weight_decay", 1e-2), betas(entry), num(entry, "eps", 1e-6));
    default:
      throw new Error(`unknown optimizer '${entry.name}' (expected one of ${Object.keys(defaultLr).join(", ")})`);
  }
}

class TensorOptimizer implements RuntimeOptimizer {
  private readonly slots = new Map<string, Map<string, Tensor>>();
  private readonly steps = new Map<string, number>();
  /** Loaded state not yet matched to a variable: its shape is only known at the variable's next step. */
  private pending = new Map<string, Float32Array>();

  constructor(
    private readonly tf: Tf,
    readonly name: string,
    readonly lr: number,
    private readonly rule: Rule,
  ) {}

  step(variables: readonly Variable[], grads: readonly Tensor[], lr: number): void {
    if (variables.length !== grads.length) throw new Error(`optimizer ${this.name}: ${variables.length} variables but ${grads.length} gradients`);
    if (!Number.isFinite(lr)) throw new Error(`optimizer ${this.name}: learning rate ${lr} is not finite`);
    const seen = new Set<string>();
    variables.forEach((v, i) => {
      const g = grads[i] as Tensor;
      if (seen.has(v.name)) throw new Error(`optimizer ${this.name}: variable '${v.name}' passed twice in one step`);
      seen.add(v.name);
      if (g.size !== v.size)
        throw new Error(`optimizer ${this.name}: gradient of shape [${g.shape.join(", ")}] for '${v.name}' of shape [${v.shape.join(", ")}]`);
      this.adopt(v);
      const t = (this.steps.get(v.name) ?? 0) + 1;
      const old = this.slots.get(v.name) ?? new Map<string, Tensor>();
      const next = this.tf.tidy(() => {
        const r = this.rule(v, this.tf.reshape(this.tf.cast(g, "float32"), v.shape), Object.fromEntries(old), t, lr);
        v.assign(r.param.dtype === v.dtype ? r.param : this.tf.cast(r.param, v.dtype));
        return r.slots;
      });
      for (const [slot, tensor] of old) if (next[slot] !== tensor) tensor.dispose();
      this.slots.set(v.name, new Map(Object.entries(next)));
      this.steps.set(v.name, t);
    });
  }

  /** Turns loaded flat arrays for `v` into tensors of its shape. */
  private adopt(v: Variable): void {
    if (this.pending.size === 0) return;
    const prefix = `${v.name}/`;
    for (const [key, data] of this.pending) {
      if (!key.startsWith(prefix) || key.indexOf("/", prefix.length) !== -1) continue;
      const slot = key.slice(prefix.length);
      this.pending.delete(key);
      if (slot === "step") {
        this.steps.set(v.name, data[0] ?? 0);
        continue;
      }
      if (data.length !== v.size) throw new Error(`optimizer ${this.name}: saved state '${key}' has ${data.length} values but '${v.name}' has ${v.size}`);
      let m = this.slots.get(v.name);
      if (!m) this.slots.set(v.name, (m = new Map()));
      m.get(slot)?.dispose();
      m.set(slot, this.tf.tensor(data, v.shape, "float32"));
    }
  }

  state(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, t] of this.steps) out.set(`${name}/step`, Float32Array.of(t));
    for (const [name, m] of this.slots) for (const [slot, tensor] of m) out.set(`${name}/${slot}`, Float32Array.from(tensor.dataSync() as Float32Array));
    for (const [key, data] of this.pending) out.set(key, Float32Array.from(data));
    return out;
  }

  loadState(state: Map<string, Float32Array>): void {
    this.dispose();
    this.pending = new Map([...state].map(([k, v]) => [k, Float32Array.from(v)]));
  }

  dispose(): void {
    for (const m of this.slots.values()) for (const t of m.values()) t.dispose();
    this.slots.clear();
    this.steps.clear();
    this.pending.clear();
  }
}

/**
 * The optimizer for a registry entry. `options.lr` (a stage's lr) overrides the entry's lr as the
 * default reported by `.lr`; each `step` uses the lr it is given (the schedule's).
 */
export function makeOptimizer(tf: Tf, entry: Entry, options?: { lr?: number }): RuntimeOptimizer {
  const rule = ruleFor(tf, entry);
  const lr = options?.lr ?? num(entry, "lr", defaultLr[entry.name] as number);
  return new TensorOptimizer(tf, entry.name, lr, rule);
}
