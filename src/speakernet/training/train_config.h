// The whole training configuration: one YAML file, one struct per component.
#pragma once

#include <string>

#include "speakernet/common/runtime.h"
#include "speakernet/data/chunk_loader.h"
#include "speakernet/features/front_end.h"
#include "speakernet/losses/loss_factory.h"
#include "speakernet/losses/margin_scheduler.h"
#include "speakernet/models/model_config.h"
#include "speakernet/training/lr_schedule.h"
#include "speakernet/training/optimizer.h"

namespace speakernet {

struct TrainerConfig {
  int64_t epochs = 40;
  double max_grad_norm = 10.0;          // L2 gradient-norm clipping (speaker-net's max_change)
  int64_t report_interval_iters = 100;  // progress line every N iterations
  int64_t valid_interval_iters = 0;     // also validate after iterations 0, N, 2N.. (0 = off)
  double ckpt_interval_minutes = 10.0;  // periodic checkpoint (0 = off)
  int64_t ckpt_interval_iters = 0;      // periodic checkpoint every N iterations (0 = off)
  int keep_periodic = 1;                // newest periodic checkpoints kept
  int64_t max_iters = 0;                // stop after this many iterations in this run (0 = none)
  int64_t seed = 1024;
  bool amp = false;              // CUDA fp16 autocast + GradScaler (refused on CPU)
  std::string init_from;         // checkpoint dir or model.pt to initialise all weights from
  bool init_classifier = true;   // init_from also sets the classifier (false: a fresh one)
  int target_num_multiplier = 0; // classes = speakers x this (0 = the loader's speed multiplier)
  double ddp_bucket_mb = 25.0;   // gradient all-reduce bucket size
  double ddp_timeout_seconds = 1800;
  // Multi-process only: every BatchNorm normalises over the global batch of all ranks in
  // training (speaker-net's SyncBatchNorm.convert_sync_batchnorm under DDP).
  bool sync_bn = true;

  template <class V>
  void Fields(V& v) {
    v("epochs", epochs, "number of epochs");
    v("max_grad_norm", max_grad_norm, "clip the gradient L2 norm to this (<=0: off)");
    v("report_interval_iters", report_interval_iters, "progress line every N iterations");
    v("valid_interval_iters", valid_interval_iters,
      "besides the end of each epoch, validate after iterations 0, N, 2N, ... of every epoch "
      "(speaker-net: N = its report_interval_iters, 1000); 0 = end of epoch only");
    v("ckpt_interval_minutes", ckpt_interval_minutes, "periodic checkpoint interval (0 = off)");
    v("ckpt_interval_iters", ckpt_interval_iters, "periodic checkpoint every N iterations (0 = off)");
    v("keep_periodic", keep_periodic, "number of periodic checkpoints kept");
    v("max_iters", max_iters, "stop this run after N iterations (0 = no limit)");
    v("seed", seed, "seed for initialisation (the loader has its own seed)");
    v("amp", amp, "mixed precision: CUDA fp16 autocast with a dynamic GradScaler (CUDA only)");
    v("init_from", init_from,
      "initialise model and classifier from this checkpoint dir or model.pt (fine-tuning)");
    v("init_classifier", init_classifier,
      "init_from also loads the classifier (loss.*); false: the model only, with a fresh "
      "classifier for the new data's speakers (e.g. an imported WeSpeaker model)");
    v("target_num_multiplier", target_num_multiplier,
      "classifier classes = speakers x this (0 = from loader speed perturbation; 3 keeps a "
      "speed-perturbed pre-trained classifier's shape)");
    v("ddp_bucket_mb", ddp_bucket_mb, "multi-process: gradient all-reduce bucket size in MB");
    v("ddp_timeout_seconds", ddp_timeout_seconds, "multi-process: collective/rendezvous timeout");
    v("sync_bn", sync_bn,
      "multi-process: BatchNorm statistics over the global batch of all ranks (SyncBatchNorm)");
  }
  void Validate() const;
};

struct TrainConfig {
  RuntimeConfig runtime;
  FrontEndConfig features;  // features.type fbank | kaldi_fbank
  LoaderConfig loader;
  ModelConfig model;
  LossConfig loss;  // loss.method am | aam | softmax
  MarginScheduleConfig margin_schedule;
  OptimizerConfig optimizer;
  LrScheduleConfig lr_schedule;
  TrainerConfig trainer;

  template <class V>
  void Fields(V& v) {
    v("runtime", runtime);
    v("features", features);
    v("loader", loader);
    v("model", model);
    v("loss", loss);
    v("margin_schedule", margin_schedule);
    v("optimizer", optimizer);
    v("lr_schedule", lr_schedule);
    v("trainer", trainer);
  }
  void Validate() const;
};

// Reads a training config file and applies `--section.key=value` overrides.
TrainConfig LoadTrainConfig(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace speakernet
