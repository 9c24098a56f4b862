export * from "./csv.js";
export * from "./datasets.js";
export * from "./decode.js";
export * from "./image.js";
export * from "./resize.js";
export * from "./encode.js";
export * from "./masks.js";
