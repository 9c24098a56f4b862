import type { OpDef } from "../op.js";
import { ops as activation } from "./activation.js";
import { ops as conv } from "./conv.js";
import { ops as linear } from "./linear.js";
import { ops as norm } from "./norm.js";
import { ops as pool } from "./pool.js";
import { ops as tensor } from "./tensor.js";
import { ops as transformer } from "./transformer.js";

/** Every operator of the IR, by language name. Backends key their lowering tables by these names. */
export const opTable: ReadonlyMap<string, OpDef> = new Map(
  [...conv, ...norm, ...activation, ...pool, ...linear, ...tensor, ...transformer].map((op) => [op.name, op]),
);

export type OpName = string;
