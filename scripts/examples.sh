#!/usr/bin/env bash
# The main job on the bundled examples: check and summarize every model, then train the demo model
# on synthetic data (no downloads) and export the best checkpoint to ONNX.
set -euo pipefail
cd "$(dirname "$0")/.."
medg() { node bin/medg.js "$@"; }
out=${MEDG_EXAMPLES_OUT:-runs/examples}

medg check examples/*.medg examples/lib/*.medg
for f in examples/*.medg; do medg summary "$f" | grep -E '^(model|input|outputs|parameters|MACs) '; echo; done

rm -rf "$out" && mkdir -p "$out"
medg demo-data "$out/demo" --size 32 --count 160
medg train examples/demo_lesion.medg --data "$out/demo" --out "$out/demo_lesion"
medg build examples/demo_lesion.medg --target onnx --weights "$out/demo_lesion/best.safetensors" -o "$out/demo_lesion.onnx"
echo "trained model: $out/demo_lesion/best.safetensors, curves: $out/demo_lesion/curves.svg, ONNX: $out/demo_lesion.onnx"
