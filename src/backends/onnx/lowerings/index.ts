/** One lowering per IR op. Keyed by `OpName`, so an op without a lowering fails to typecheck. */
import type { OpName } from "../../../ir/ops/index.js";
import type { Lowering } from "../lowering.js";
import * as activation from "./activation.js";
import * as conv from "./conv.js";
import { linear } from "./linear.js";
import * as norm from "./norm.js";
import { pad } from "./pad.js";
import { resize } from "./resize.js";
import * as pool from "./pool.js";
import * as tensor from "./tensor.js";
import * as transformer from "./transformer.js";

export const lowerings: Readonly<Record<OpName, Lowering>> = {
  conv: conv.conv,
  dwconv: conv.dwconv,
  conv_transpose: conv.convTranspose,

  bn: norm.bn,
  gn: norm.gn,
  ln: norm.ln,
  ln2d: norm.ln2d,
  instance_norm: norm.instanceNorm,

  relu: activation.relu,
  relu6: activation.relu6,
  leaky_relu: activation.leakyRelu,
  prelu: activation.prelu,
  gelu: activation.gelu,
  silu: activation.silu,
  sigmoid: activation.sigmoid,
  hardswish: activation.hardswish,
  hardsigmoid: activation.hardsigmoid,
  tanh: activation.tanh,
  softmax: activation.softmax,
  identity: activation.passThrough,

  maxpool: pool.maxpool,
  avgpool: pool.avgpool,
  gap: pool.gap,
  gmp: pool.gmp,
  adaptive_avgpool: pool.adaptiveAvgpool,
  adaptive_maxpool: pool.adaptiveMaxpool,

  linear,

  dropout: activation.passThrough,
  stochastic_depth: activation.passThrough,
  add: tensor.add,
  mul: tensor.mul,
  concat: tensor.concat,
  split: tensor.split,
  reshape: tensor.reshape,
  flatten: tensor.flatten,
  permute: tensor.permute,
  transpose: tensor.transpose,
  resize,
  upsample: resize,
  pad,
  gray_to_rgb: tensor.repeatChannels,
  repeat_channels: tensor.repeatChannels,

  class_token: transformer.classToken,
  pos_embedding: transformer.posEmbedding,
  token: transformer.token,
  mean_tokens: transformer.meanTokens,
  mhsa: transformer.mhsa,
  window_attention: transformer.windowAttention,
  patch_merging: transformer.patchMerging,
  layer_scale: transformer.layerScale,
  sr_attention: transformer.srAttention,
};
