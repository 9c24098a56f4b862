import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { makeOptimizer } from "../../src/runtime/optim.js";
import type { Entry } from "../../src/runtime/types.js";

/*
 * Three steps on p = [1, -2] with fixed gradients and a changing lr. References were computed
 * once in float64 with torch 1.13:
 *   p = torch.tensor([1., -2.], requires_grad=True); opt = torch.optim.<Opt>([p], lr=.1, **kw)
 *   for g, lr in zip(GRADS, LRS): opt.param_groups[0]["lr"] = lr; p.grad = torch.tensor(g); opt.step()
 * LAMB has no torch implementation; its reference is the paper's formula in plain Python.
 */

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const GRADS = [
  [0.5, -0.3],
  [-0.2, 0.4],
  [0.1, 0.1],
];
const LRS = [0.1, 0.05, 0.1];

let counter = 0;
function run(entry: Entry, grads = GRADS): { p: number[]; state: Map<string, Float32Array> } {
  const name = `p${counter++}`;
  const v = tf.variable(tf.tensor1d([1, -2]), true, name);
  const opt = makeOptimizer(tf, entry);
  grads.forEach((g, i) => {
    const gt = tf.tensor1d(g);
    opt.step([v], [gt], LRS[i] as number);
    gt.dispose();
  });
  const p = Array.from(v.dataSync());
  const state = new Map([...opt.state()].map(([k, a]) => [k.slice(name.length + 1), a]));
  opt.dispose();
  v.dispose();
  return { p, state };
}

function close(actual: ArrayLike<number>, want: number[], digits = 5): void {
  expect(actual.length).toBe(want.length);
  want.forEach((w, i) => expect(actual[i]).toBeCloseTo(w, digits));
}

const e = (name: string, args: Record<string, unknown> = {}): Entry => ({ name, args });

describe("adam family", () => {
  it("adamw: decoupled weight decay", () => {
    const { p, state } = run(e("adamw", { lr: 1e-3, weight_decay: 0.1, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false }));
    close(p, [0.821647835667, -1.888676674577]); // torch.optim.AdamW(weight_decay=0.1)
    close(state.get("exp_avg")!, [0.0325, 0.0217], 6);
    close(state.get("exp_avg_sq")!, [0.00029946025, 0.00025966009], 8);
    close(state.get("step")!, [3]);
  });
  it("adam: L2 weight decay differs from adamw", () => {
    close(run(e("adam", { weight_decay: 0.1 })).p, [0.81620866617, -1.84811046409]); // torch.optim.Adam(weight_decay=0.1)
    close(run(e("adam", { weight_decay: 0 })).p, [0.844780532777, -1.936879429829]); // torch.optim.Adam()
  });
  it("adamw with betas and eps", () => {
    close(run(e("adamw", { weight_decay: 0, betas: [0.8, 0.9], eps: 1e-3 })).p, [0.850290472837, -1.944958536247]);
  });
  it("amsgrad keeps the running maximum of v", () => {
    const big = [
      [2.0, -1.0],
      [0.01, 0.01],
      [0.01, 0.02],
    ];
    const ams = run(e("adamw", { weight_decay: 0.1, amsgrad: true }), big);
    close(ams.p, [0.791008257357, -1.769219712437], 6); // AdamW(weight_decay=0.1, amsgrad=True)
    close(ams.state.get("max_exp_avg_sq")!, [0.004, 0.001], 8);
    close(run(e("adamw", { weight_decay: 0.1, amsgrad: false }), big).p, [0.790940903244, -1.769167511994], 6);
  });
  it("adamax", () => {
    const { p, state } = run(e("adamax", { weight_decay: 0.01 }));
    close(p, [0.860778500458, -1.922384700925]); // torch.optim.Adamax(weight_decay=0.01)
    close(state.get("exp_inf")!, [0.50898051998, 0.380619009959], 6);
  });
  it("lamb: trust-ratio-scaled Adam step", () => {
    close(run(e("lamb", { weight_decay: 0.01 })).p, [0.5820251212990235, -1.9971636398477204]);
    close(run(e("lamb", { weight_decay: 0 })).p, [0.5880789389179666, -2.0099938506182857]);
  });
});

describe("sgd", () => {
  it("momentum, buffer seeded with the first gradient", () => {
    const { p, state } = run(e("sgd", { lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0 }));
    close(p, [0.905, -1.9982]); // torch.optim.SGD(momentum=0.9)
    close(state.get("momentum_buffer")!, [0.325, 0.217]);
  });
  it("nesterov", () => {
    close(run(e("sgd", { momentum: 0.9, nesterov: true })).p, [0.8645, -1.99838]); // SGD(momentum=0.9, nesterov=True)
  });
  it("weight decay and no momentum", () => {
    close(run(e("sgd", { momentum: 0.9, weight_decay: 0.1 })).p, [0.860057, -1.9063225]); // SGD(momentum=0.9, weight_decay=0.1)
    const plain = run(e("sgd", { momentum: 0 }));
    close(plain.p, [0.95, -2.0]); // SGD(momentum=0)
    expect(plain.state.has("momentum_buffer")).toBe(false);
  });
});

describe("rmsprop and adagrad", () => {
  it("rmsprop", () => {
    close(run(e("rmsprop", { alpha: 0.99, momentum: 0, eps: 1e-8, weight_decay: 0, centered: false })).p, [0.002269103344, -1.598129849977]); // RMSprop()
  });
  it("rmsprop centred with momentum and weight decay", () => {
    const { p, state } = run(e("rmsprop", { centered: true, momentum: 0.5, weight_decay: 0.1 }));
    close(p, [-0.331632936265, -1.009357396184], 4); // RMSprop(centered=True, momentum=0.5, weight_decay=0.1)
    close(state.get("grad_avg")!, [0.004798817101630971, -0.0019278771999369246], 7);
  });
  it("adagrad", () => {
    close(run(e("adagrad", { weight_decay: 0, eps: 1e-10 })).p, [0.900312115254, -1.959611613535]); // Adagrad()
    close(run(e("adagrad", { weight_decay: 0.1 })).p, [0.87914946654, -1.902647402]); // Adagrad(weight_decay=0.1)
  });
});

describe("state, freezing and memory", () => {
  it("save after one step, load into a fresh optimizer, continue: same as three uninterrupted steps", () => {
    const a = tf.variable(tf.tensor1d([1, -2]), true, "resume_a");
    const opt = makeOptimizer(tf, e("adamw", { weight_decay: 0.1 }));
    opt.step([a], [tf.tensor1d(GRADS[0]!)], LRS[0]!);
    const saved = opt.state();
    const snapshot = Array.from(a.dataSync());
    opt.dispose();

    const b = tf.variable(tf.tensor1d(snapshot), true, "resume_a_copy");
    const renamed = new Map([...saved].map(([k, v]) => [k.replace("resume_a/", "resume_a_copy/"), v]));
    const opt2 = makeOptimizer(tf, e("adamw", { weight_decay: 0.1 }));
    opt2.loadState(renamed);
    expect(opt2.state().get("resume_a_copy/step")).toEqual(Float32Array.of(1)); // pending state is reported too
    opt2.step([b], [tf.tensor1d(GRADS[1]!)], LRS[1]!);
    opt2.step([b], [tf.tensor1d(GRADS[2]!)], LRS[2]!);
    close(b.dataSync(), [0.821647835667, -1.888676674577]);
    expect(opt2.state().get("resume_a_copy/step")).toEqual(Float32Array.of(3));
    opt2.dispose();
    a.dispose();
    b.dispose();
  });
  it("loading state of the wrong size is an error", () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, "wrong_size");
    const opt = makeOptimizer(tf, e("adam"));
    opt.loadState(new Map([["wrong_size/exp_avg", new Float32Array(2)]]));
    expect(() => opt.step([v], [tf.ones([3])], 0.1)).toThrow(/has 2 values/);
    v.dispose();
  });
  it("a frozen variable (not passed) keeps its value and its state", () => {
    const w = tf.variable(tf.tensor1d([1, 1]), true, "frozen_w");
    const b = tf.variable(tf.tensor1d([0, 0]), true, "frozen_b");
    const opt = makeOptimizer(tf, e("sgd", { momentum: 0.9 }));
    opt.step([w, b], [tf.tensor1d([1, 1]), tf.tensor1d([1, 1])], 0.1);
    const bufB = opt.state().get("frozen_b/momentum_buffer");
    opt.step([w], [tf.tensor1d([1, 1])], 0.1);
    close(b.dataSync(), [-0.1, -0.1]);
    expect(opt.state().get("frozen_b/momentum_buffer")).toEqual(bufB);
    expect(opt.state().get("frozen_b/step")).toEqual(Float32Array.of(1));
    expect(opt.state().get("frozen_w/step")).toEqual(Float32Array.of(2));
    close(w.dataSync(), [1 - 0.1 - 0.1 * 1.9, 1 - 0.1 - 0.1 * 1.9]);
    opt.dispose();
    w.dispose();
    b.dispose();
  });
  it("steps leak no tensors for any optimizer", () => {
    const configs = [
      e("adamw", { amsgrad: true }),
      e("adam", { weight_decay: 0.1 }),
      e("adamax"),
      e("sgd", { nesterov: true }),
      e("rmsprop", { centered: true, momentum: 0.5 }),
      e("adagrad"),
      e("lamb"),
    ];
    for (const cfg of configs) {
      const v = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]), true, `leak_${cfg.name}`);
      const g = tf.tensor2d([0.1, -0.2, 0.3, -0.4], [2, 2]);
      const opt = makeOptimizer(tf, cfg);
      opt.step([v], [g], 0.01); // first step creates the slots
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) opt.step([v], [g], 0.01);
      expect(tf.memory().numTensors, cfg.name).toBe(before);
      const slots = [...opt.state().keys()].filter((k) => !k.endsWith("/step")).length;
      expect(slots, cfg.name).toBeGreaterThan(0);
      opt.dispose();
      expect(tf.memory().numTensors, cfg.name).toBe(before - slots);
      g.dispose();
      v.dispose();
    }
  });
  it("dispose frees the state", () => {
    const v = tf.variable(tf.tensor1d([1, 2]), true, "dispose_me");
    const opt = makeOptimizer(tf, e("adamw", { amsgrad: true }));
    const g = tf.tensor1d([1, 1]);
    const start = tf.memory().numTensors;
    opt.step([v], [g], 0.1);
    expect(tf.memory().numTensors).toBe(start + 3);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(opt.state().size).toBe(0);
    g.dispose();
    v.dispose();
  });
  it("lr: options override the entry, the entry overrides the registry default", () => {
    expect(makeOptimizer(tf, e("adamw")).lr).toBe(1e-3);
    expect(makeOptimizer(tf, e("sgd", { lr: 0.5 })).lr).toBe(0.5);
    expect(makeOptimizer(tf, e("sgd", { lr: 0.5 }), { lr: 0.2 }).lr).toBe(0.2);
  });
  it("errors", () => {
    expect(() => makeOptimizer(tf, e("adagrad2"))).toThrow(/unknown optimizer 'adagrad2'/);
    expect(() => makeOptimizer(tf, e("adam", { betas: [0.9] }))).toThrow(/betas/);
    const v = tf.variable(tf.tensor1d([1, 2]), true, "errs");
    const opt = makeOptimizer(tf, e("sgd"));
    expect(() => opt.step([v], [], 0.1)).toThrow(/1 variables but 0 gradients/);
    expect(() => opt.step([v], [tf.ones([3])], 0.1)).toThrow(/shape/);
    v.dispose();
  });
});
