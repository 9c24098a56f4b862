"""The torch side of `npm run bench:onnx`: exports torchvision models with torch.onnx.export and
times the export.

    /usr/bin/python3 scripts/parity/torch_onnx.py OUT_DIR REPEAT NAME...

For each NAME, writes OUT_DIR/NAME.torch.onnx (opset 17, input [N, 3, 224, 224] with the batch
dynamic, as medg's export has it; constant folding on, the default) REPEAT times and prints one
JSON line: {"name": NAME, "seconds": [time of each export], "file": path}. The model is built
(random initialisation, nothing downloaded) and put in eval mode before the clock starts.
"""
import json
import os
import sys
import time
import warnings

import torch
import torchvision


def main(argv):
    out_dir, repeat, names = argv[1], int(argv[2]), argv[3:]
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    for name in names:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None).eval()
        x = torch.rand(1, 3, 224, 224)
        path = os.path.join(out_dir, name + ".torch.onnx")
        seconds = []
        for _ in range(repeat):
            t = time.perf_counter()
            with torch.no_grad():
                torch.onnx.export(
                    model, x, path, opset_version=17, input_names=["input"], output_names=["logits"],
                    dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                )
            seconds.append(time.perf_counter() - t)
        print(json.dumps({"name": name, "seconds": seconds, "file": path}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
