// The reference side of the tfjs benchmark: the same architectures written by hand with
// tfjs-layers, as a Keras user would (channels-last input, softmax output, compile + trainOnBatch).

/** conv(16)-bn-relu-maxpool, conv(32)-bn-relu-maxpool, conv(64)-bn-relu, global average pool, dense. */
export function smallCnn(tf, { size, channels, classes }) {
  const L = tf.layers;
  const input = L.input({ shape: [size, size, channels] });
  let x = input;
  for (const [i, filters] of [16, 32, 64].entries()) {
    x = L.conv2d({ filters, kernelSize: 3, padding: "same", useBias: false }).apply(x);
    x = L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x);
    x = L.reLU().apply(x);
    if (i < 2) x = L.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x);
  }
  x = L.globalAveragePooling2d({}).apply(x);
  const output = L.dense({ units: classes, activation: "softmax" }).apply(x);
  return tf.model({ inputs: input, outputs: output });
}

function convBn(tf, x, filters, kernelSize, strides) {
  const L = tf.layers;
  x = L.conv2d({ filters, kernelSize, strides, padding: "same", useBias: false }).apply(x);
  return L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x);
}

/** torchvision's BasicBlock. */
function basic(tf, x, filters, strides) {
  const L = tf.layers;
  const inChannels = x.shape[x.shape.length - 1];
  let y = L.reLU().apply(convBn(tf, x, filters, 3, strides));
  y = convBn(tf, y, filters, 3, 1);
  const shortcut = strides !== 1 || inChannels !== filters ? convBn(tf, x, filters, 1, strides) : x;
  return L.reLU().apply(L.add().apply([y, shortcut]));
}

/** ResNet-18 as torchvision builds it; the stem pads explicitly (as keras.applications does) to keep PyTorch's padding. */
export function resnet18(tf, { size, channels, classes }) {
  const L = tf.layers;
  const input = L.input({ shape: [size, size, channels] });
  let x = L.zeroPadding2d({ padding: 3 }).apply(input);
  x = L.conv2d({ filters: 64, kernelSize: 7, strides: 2, padding: "valid", useBias: false }).apply(x);
  x = L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x);
  x = L.reLU().apply(x);
  x = L.zeroPadding2d({ padding: 1 }).apply(x);
  x = L.maxPooling2d({ poolSize: 3, strides: 2, padding: "valid" }).apply(x);
  for (const [filters, strides] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ]) {
    x = basic(tf, x, filters, strides);
    x = basic(tf, x, filters, 1);
  }
  x = L.globalAveragePooling2d({}).apply(x);
  const output = L.dense({ units: classes, activation: "softmax" }).apply(x);
  return tf.model({ inputs: input, outputs: output });
}
