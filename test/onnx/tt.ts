import { onnx } from "../../src/backends/onnx/proto.js";
const m: import("onnx-proto").onnx.IModelProto = { irVersion: 8 };
console.log(onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish().length);
