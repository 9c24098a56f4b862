/**
 * The runtime of emitted tfjs programs (`medg/runtime`): the kernels model.js calls, the training
 * loop train.js runs, and the pieces they are made of for programs that want their own loop.
 */
export { kernels, opKernels, Act, createForwardContext, type ForwardContext, type ForwardOptions, type Kernel, type Params } from "./kernels/index.js";
export { frozenPerStage, PROGRAM_FORMAT, type ModelModule, type ProgramPlan, type ProgramStage, type ProgramParameter } from "./program.js";
export { runTraining, trainMain, processTrainIo, TrainingError, type RunTrainingOptions, type TrainMainOptions, type TrainResult, type EpochRecord, type RunRecord } from "./train.js";
export { loadTf, runtimeNames, type LoadedTf, type RuntimeName } from "./tf.js";
export { loadCheckpoint, saveVariables, saveOptimizerState, BEST, LAST, LAST_OPTIMIZER, RUN } from "./checkpoint.js";
export { curvesSvg, type CurvePoint } from "./curves.js";
export { EpochProgress, formatDuration, type TrainIo } from "./progress.js";
export { makeLoss } from "./losses.js";
export { makeOptimizer } from "./optim.js";
export { makeSchedule } from "./schedules.js";
export { computeMetrics } from "./metrics.js";
export { createRng } from "./rng.js";
export { augment } from "./augment.js";
export { normalize, datasetStats } from "./normalize.js";
export { openDataset, openImageFolder, openCsv, loadSample, decodeImage, prepare } from "./data/index.js";
export type * from "./types.js";
