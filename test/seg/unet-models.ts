/**
 * The segmentation models under test: medg text, the reference manifest it replicates (written by
 * test/reference/seg/manifest.py) and how the two name their parameters.
 */
import { readFileSync } from "node:fs";

export interface SegManifest {
  model: string;
  reference: string;
  source: string;
  params: number;
  macs: number;
  macs_input: number[];
  output: number[];
  prefixes?: Record<string, string>;
  entries: [string, number[], "param" | "buffer"][];
}

export function readSegManifest(name: string): SegManifest {
  return JSON.parse(readFileSync(new URL(`../reference/seg/${name}.json`, import.meta.url), "utf8")) as SegManifest;
}

export interface SegModel {
  /** Test name. */
  name: string;
  /** Manifest under test/reference/seg/. */
  manifest: string;
  /** Input channels. */
  channels: number;
  classes: number;
  /** The model's roles, written after `input`. */
  roles: string;
  /** The reference names its parameters otherwise (timm's EfficientNet): counts and shapes only. */
  otherNames?: boolean;
  /** Reference entries the medg model lacks on purpose (the unused deep-supervision heads). */
  missing?: RegExp;
  /** Spatial sizes it accepts (multiples of its total stride). */
  sizes: number[];
  /** Smallest accepted size, for export and cross-backend runs. */
  small: number;
  /** A size its divisibility check rejects, and the multiple it asks for. */
  bad: { size: number; multiple: number };
  outputs?: number;
}

export const segModels: SegModel[] = [
  {
    name: "smp Unet(resnet34)",
    manifest: "smp_unet_resnet34",
    channels: 3,
    classes: 1,
    roles: "backbone resnet34 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3, classes=1)",
    sizes: [64, 96, 160, 224],
    small: 32,
    bad: { size: 100, multiple: 32 },
  },
  {
    name: "smp Unet(resnet50)",
    manifest: "smp_unet_resnet50",
    channels: 3,
    classes: 1,
    roles: "backbone resnet50 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3, classes=1)",
    sizes: [64, 224],
    small: 32,
    bad: { size: 48, multiple: 32 },
  },
  {
    name: "smp Unet(densenet121)",
    manifest: "smp_unet_densenet121",
    channels: 3,
    classes: 1,
    roles: "backbone densenet121 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3, classes=1)",
    sizes: [64, 128],
    small: 32,
    bad: { size: 70, multiple: 32 },
  },
  {
    name: "smp Unet(timm-efficientnet-b0)",
    manifest: "smp_unet_efficientnet_b0",
    channels: 3,
    classes: 1,
    roles: "backbone efficientnet_b0 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3, classes=1)",
    otherNames: true,
    sizes: [64, 96],
    small: 32,
    bad: { size: 112, multiple: 32 },
  },
  {
    name: "smp Unet(resnet18, encoder_depth=4)",
    manifest: "smp_unet_resnet18_depth4",
    channels: 3,
    classes: 3,
    roles: "backbone resnet18 | decoder unet(128, 64, 32, 16) | head seg_conv(k=3, classes=3)",
    sizes: [16, 64, 80],
    small: 16,
    bad: { size: 40, multiple: 16 },
  },
  {
    name: "smp Unet(resnet34) with the centre block",
    manifest: "smp_unet_resnet34_center",
    channels: 3,
    classes: 1,
    roles: "backbone resnet34 | decoder unet(256, 128, 64, 32, 16, center=true) | head seg_conv(k=3, classes=1)",
    sizes: [64, 96],
    small: 32,
    bad: { size: 65, multiple: 32 },
  },
  {
    name: "U-Net 2015",
    manifest: "unet2015",
    channels: 1,
    classes: 2,
    roles: "backbone unet2015(classes=2)",
    sizes: [32, 48, 96, 256],
    small: 16,
    bad: { size: 40, multiple: 16 },
  },
  {
    name: "U-Net 2015 with batch norm (milesial)",
    manifest: "unet2015_bn",
    channels: 1,
    classes: 2,
    roles: "backbone unet2015(classes=2, norm=bn)",
    sizes: [32, 64],
    small: 16,
    bad: { size: 20, multiple: 16 },
  },
  {
    name: "MONAI UNet",
    manifest: "monai_unet",
    channels: 1,
    classes: 2,
    roles: "backbone monai_unet(classes=2, act=relu)",
    sizes: [16, 48, 96],
    small: 16,
    bad: { size: 50, multiple: 16 },
  },
  {
    name: "MONAI residual UNet (batch norm)",
    manifest: "monai_unet_res",
    channels: 1,
    classes: 2,
    roles: "backbone monai_unet(classes=2, num_res_units=2, act=relu, norm=bn)",
    sizes: [16, 64, 96],
    small: 16,
    bad: { size: 90, multiple: 16 },
  },
  {
    name: "MONAI residual UNet (instance norm, PReLU)",
    manifest: "monai_unet_res_prelu",
    channels: 1,
    classes: 2,
    roles: "backbone monai_unet(classes=2, num_res_units=2)",
    sizes: [32, 96],
    small: 16,
    bad: { size: 24, multiple: 16 },
  },
  {
    name: "MONAI AttentionUnet",
    manifest: "monai_attention_unet",
    channels: 1,
    classes: 2,
    roles: "backbone monai_attention_unet(classes=2)",
    sizes: [16, 64, 96],
    small: 16,
    bad: { size: 100, multiple: 16 },
  },
  {
    name: "MONAI BasicUNetPlusPlus (deep supervision)",
    manifest: "monai_unetpp",
    channels: 1,
    classes: 2,
    roles: "backbone monai_unetpp(classes=2, deep_supervision=true)",
    sizes: [16, 64, 96],
    small: 16,
    bad: { size: 72, multiple: 16 },
    outputs: 4,
  },
  {
    name: "MONAI BasicUNetPlusPlus",
    manifest: "monai_unetpp",
    channels: 1,
    classes: 2,
    roles: "backbone monai_unetpp(classes=2)",
    missing: /^final_conv_0_[123]\./,
    sizes: [32, 96],
    small: 16,
    bad: { size: 36, multiple: 16 },
  },
];

export function modelText(m: SegModel, size: number, name = "seg"): string {
  return `model ${name} {\n  input image(${m.channels}, ${size}, ${size})\n  ${m.roles}\n}\n`;
}

/** A reference name as the medg model spells it: role prefixes mapped, or all under `backbone.`. */
export function medgName(manifest: SegManifest, name: string): string {
  for (const [from, to] of Object.entries(manifest.prefixes ?? {})) if (name.startsWith(from)) return to + name.slice(from.length);
  return manifest.prefixes ? name : `backbone.${name}`;
}

/** Small configurations of each network: the PyTorch comparisons (fixtures/unet_*) and the tfjs runs. */
export const smallCases: { fixture: string; channels: number; size: number; roles: string }[] = [
  { fixture: "unet_smp_resnet18", channels: 3, size: 32, roles: "backbone resnet18 | decoder unet(32, 16, 16, 8, 8) | head seg_conv(k=3, classes=2)" },
  { fixture: "unet_milesial_bn", channels: 1, size: 32, roles: "backbone unet2015(classes=2, base=8, norm=bn)" },
  { fixture: "unet_milesial", channels: 1, size: 32, roles: "backbone unet2015(classes=2, base=8)" },
  { fixture: "unet_monai_res", channels: 1, size: 16, roles: "backbone monai_unet(widths=[4, 8, 16, 32], strides=[2, 2, 2], num_res_units=2, act=relu, norm=bn, classes=2)" },
  { fixture: "unet_monai", channels: 1, size: 16, roles: "backbone monai_unet(widths=[4, 8, 16], strides=[2, 2], act=relu, classes=2)" },
  { fixture: "unet_monai_res_prelu", channels: 1, size: 16, roles: "backbone monai_unet(widths=[4, 8, 16, 32], strides=[2, 2, 2], num_res_units=2, classes=2)" },
  { fixture: "unet_monai_prelu", channels: 1, size: 16, roles: "backbone monai_unet(widths=[4, 8, 16], strides=[2, 2], classes=2)" },
  { fixture: "unet_monai_attention", channels: 1, size: 16, roles: "backbone monai_attention_unet(widths=[4, 8, 16, 32], strides=[2, 2, 2], classes=2)" },
  { fixture: "unet_monai_unetpp", channels: 1, size: 32, roles: "backbone monai_unetpp(features=[4, 4, 8, 8, 16, 4], classes=2, deep_supervision=true)" },
];
