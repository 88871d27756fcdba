// The training memory of issue 6, measured honestly: a fresh wasm instance (this process) that
// does only what the page's training worker does (www/js/train/worker.js): a TrainingSession,
// the synthetic smiles, the chapter's model, a training run driven by trainFor, then the
// test-set scoring the page asks for when a run ends. It prints one JSON object: the wasm
// linear memory (which only grows) after each stage, so `after_evaluate_mb` is the peak, and
// whether memory grew during training after the first batch.
//
// Usage: node bench/train_memory.mjs [train_images] [batch] [epochs]  (the SIMD128 build of pkg/)
// (bench/run.mjs runs it as a child process, so that nothing else has touched the instance.)

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConvscope } from './load_pkg.mjs';

const [train = '600', batch = '32', epochs = '2'] = process.argv.slice(2);
const cs = loadConvscope(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
// Bench.memoryBytes reads memory.size only; it allocates nothing.
const mb = () => cs.Bench.memoryBytes() / 2 ** 20;

const stages = { start_mb: mb() };
const session = new cs.TrainingSession();
// The page's defaults: the training and test sets of the chapter's sizes.
session.loadSynthetic(Number(train), 150, 1, 'normal');
stages.after_data_mb = mb();
session.buildModel(undefined, 1);
stages.after_model_mb = mb();
const batches = session.startTraining({ epochs: Number(epochs), batchSize: Number(batch), learningRate: 1e-3, patience: 0, seed: 1 });
stages.after_start_mb = mb();
// trainFor(0) trains exactly one batch.
session.trainFor(0);
stages.after_first_batch_mb = mb();
let report;
let done = 1;
do {
  report = session.trainFor(0);
  done += 1;
} while (!report.finished);
stages.after_epochs_mb = mb();
session.evaluate();
stages.after_evaluate_mb = mb();
session.free();

console.log(
  JSON.stringify({
    train_images: Number(train),
    batch: Number(batch),
    epochs: Number(epochs),
    batches_per_epoch: batches,
    batches_trained: done,
    ...stages,
    train_peak_memory_mb: stages.after_evaluate_mb,
    grew_after_first_batch: stages.after_epochs_mb > stages.after_first_batch_mb,
  }),
);
