// The training loop: waveform batches → front end (features.type fbank | kaldi_fbank, on the
// training device, no grad) → model → classifier loss (loss.method am | aam | softmax),
// SGD/Adam with warm-up + schedule, gradient clipping, progress lines, periodic and end-of-epoch
// checkpoints, and exact resume.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "speakernet/models/state_dict.h"
#include "speakernet/training/distributed.h"
#include "speakernet/training/train_config.h"

namespace speakernet {

struct TrainSummary {
  int64_t steps = 0;     // optimizer steps taken in this run
  double last_loss = 0;  // mean loss over the last report interval
  double last_accuracy = 0;
  double valid_loss = -1;  // last validation (-1 = no validation split)
  double valid_accuracy = -1;
  std::string last_checkpoint;     // rank 0 only
  double rank_max_difference = 0;  // multi-process: max |parameter - rank 0's| at the end
};

class Trainer {
 public:
  // `dist`: this process's place in a multi-process run (default: a single process). Only rank 0
  // writes the experiment files, logs CSVs and checkpoints; rank r > 0 logs to train.rank<r>.log.
  Trainer(TrainConfig config, std::string data_dir, std::string exp_dir, DistEnv dist = {});
  ~Trainer();

  // resume: "" = start fresh (refuses an exp dir that already has checkpoints),
  // "latest" = the newest checkpoint of the exp dir, anything else = a checkpoint directory.
  TrainSummary Run(const std::string& resume = "");

 private:
  struct State;  // the components and progress of a run, and its phases (trainer.cpp)
  std::unique_ptr<State> state_;
};

// Initial weights for fine-tuning (trainer.init_from, spec §6): reads `path` (a checkpoint dir or
// a model.pt state-dict file) and returns its tensors in the order and names of `expected` (the
// full model + classifier state). Missing, unexpected or mis-shaped keys are errors naming the
// key (a classifier with another number of classes is reported as loss.weight). Without
// `with_classifier` the classifier (loss.*) entries of `expected` are returned as they are and
// those of the file are ignored (fine-tuning on other speakers with a fresh classifier).
StateDict LoadInitWeights(const std::string& path, const StateDict& expected,
                          bool with_classifier = true);

}  // namespace speakernet
