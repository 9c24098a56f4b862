/**
 * How a parameter is initialised when no weights are given: the reference implementation's
 * rule, as data, so every backend can apply it.
 */
export type InitRule =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "constant"; value: number }
  /** PyTorch's default for conv/linear weights: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  | { kind: "uniform_fan_in" }
  | { kind: "kaiming_normal"; mode: "fan_in" | "fan_out"; gain?: number }
  | { kind: "kaiming_uniform"; mode: "fan_in" | "fan_out" }
  | { kind: "normal"; std: number }
  | { kind: "trunc_normal"; std: number }
  | { kind: "xavier_uniform" }
  /** An integer buffer computed from the op's attributes (e.g. a relative position index). */
  | { kind: "computed"; rule: string };
