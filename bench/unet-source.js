// The language server benchmark's file, shared with the profiling driver.

/** The benchmark file: every bottleneck of ResNet-101 spelt out, taps at each stage, a U-Net decoder. */
export function unetSource() {
  const out = [];
  const line = (s = "") => out.push(s);
  line("# CT organ and tumour segmentation: a U-Net on a ResNet-101 encoder.");
  line("# The encoder is written out block by block with torchvision's names, so ImageNet weights");
  line("# load by name; the decoder upsamples and joins the encoder's taps.");
  line("");
  line("## conv -> bn -> relu, the decoder's unit.");
  line("def cbr(c, k=3) = conv(c, k, bias=false) | bn | relu");
  line("");
  line("## Two units at one width, as in the original U-Net.");
  line("def double_conv(c) = conv1: cbr(c) | conv2: cbr(c)");
  line("");
  line("## A gate on a skip connection (Oktay et al. 2018): the skip is weighted by a map in [0, 1]");
  line("## computed from the skip itself. Kept for the gated variant of the model.");
  line("def attention_gate(c) =");
  line("  mul(");
  line("    identity,");
  line("    conv(c, 1, bias=false)");
  line("    | bn");
  line("    | relu");
  line("    | conv(1, 1)");
  line("    | sigmoid");
  line("  )");
  line("");
  line("## Squeeze-and-excitation on the decoder's features (Hu et al. 2018).");
  line("def se(c, r=16) =");
  line("  mul(");
  line("    identity,");
  line("    gap");
  line("    | reshape([c, 1, 1])");
  line("    | conv(max(c // r, 8), 1)");
  line("    | relu");
  line("    | conv(c, 1)");
  line("    | sigmoid");
  line("  )");
  line("");
  line("## A residual refinement unit for the decoder: two convolutions and an identity shortcut.");
  line("def refine(c) =");
  line("  residual(");
  line("    conv(c, 3, bias=false)");
  line("    | bn");
  line("    | relu");
  line("    | conv(c, 3, bias=false)");
  line("    | bn");
  line("  )");
  line("  | relu");
  line("");
  line("## The widths of the decoder, coarse to fine.");
  line("let decoder_widths = [256, 128, 64, 32]");
  line("let classes = 5");
  line("");
  line("model organ_seg {");
  line('  task segment(classes=["background", "liver", "kidney", "spleen", "tumour"])');
  line("  input image(1, 512, 512) | gray_to_rgb");
  line("  normalize window(center=40, width=400)");
  line("  backbone");
  line('    expect_divisible(32, what="unet")');
  line("    | conv1: conv(64, 7, s=2, bias=false) | bn1: bn | relu | tap c1");
  line("    | maxpool: maxpool(3, s=2, p=1)");
  const layers = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 23, 2],
    [512, 3, 2],
  ];
  layers.forEach(([c, n, s], li) => {
    line(`    # layer${li + 1}: ${n} bottlenecks of width ${c}, ${c * 4} channels out`);
    line(`    | layer${li + 1}: [`);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      line(`        # layer${li + 1}.${i}: 1x1 reduce to ${c}, 3x3${stride > 1 ? ` at stride ${stride}` : ""}, 1x1 expand to ${c * 4}`);
      line(`        # (torchvision: ${`layer${li + 1}.${i}`}.conv1 .. conv3, bn1 .. bn3${i === 0 ? ", downsample.0/.1" : ""})`);
      line("        residual(");
      line(`          conv1: conv(${c}, 1, bias=false)`);
      line("          | bn1: bn");
      line("          | relu");
      line(`          | conv2: conv(${c}, 3, s=${stride}, bias=false)`);
      line("          | bn2: bn");
      line("          | relu");
      line(`          | conv3: conv(${c * 4}, 1, bias=false)`);
      line(`          | bn3: bn${i === 0 ? "," : ""}`);
      if (i === 0) line(`          shortcut = downsample: (conv(${c * 4}, 1, s=${stride}, bias=false) | bn)`);
      line(`        ) | relu${i === n - 1 ? "" : ","}`);
    }
    line(`      ]${li < 3 ? ` | tap c${li + 2}` : ""}`);
  });
  line("  decoder");
  [
    [256, "c4", 16],
    [128, "c3", 8],
    [64, "c2", 4],
    [32, "c1", 2],
  ].forEach(([c, tap, scale], i) => {
    line(`    # stage ${4 - i}: up to 1/${scale} of the input, join ${tap}, two ${c}-wide units`);
    line(`    ${i === 0 ? "" : "| "}upsample(2) | concat(identity, from ${tap})`);
    if (i % 2 === 0) line(`    | dec${4 - i}: double_conv(${c})`);
    else {
      line(`    | dec${4 - i}: [`);
      line(`        conv(${c}, 3, bias=false), bn, relu,`);
      line(`        conv(${c}, 3, bias=false), bn, relu,`);
      line("      ]");
    }
  });
  line("    | upsample(2) | out: conv(classes, 1)");
  line("  loss 0.5*dice + 0.5*ce");
  line("  optimizer adamw(lr=3e-4, weight_decay=1e-4)");
  line("  schedule cosine(warmup=5)");
  line("  augment rotate(10) | flip(h) | elastic(alpha=30, sigma=5) | gamma(.8, 1.2)");
  line('  data imagefolder("data/organs")');
  line("  metrics dice, iou");
  line("  batch 8");
  line("  stage warmup: freeze backbone, epochs 5, lr 1e-3");
  line("  stage finetune: unfreeze all, epochs 50, lr 1e-4, schedule cosine");
  line("}");
  return `${out.join("\n")}\n`;
}
