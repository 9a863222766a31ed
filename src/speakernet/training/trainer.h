// The training loop: waveform batches → fbank (on the training device, no grad) → model →
// margin softmax, SGD/Adam with warm-up + schedule, gradient clipping, progress lines, periodic
// and end-of-epoch checkpoints, and exact resume.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "speakernet/training/train_config.h"

namespace speakernet {

struct TrainSummary {
  int64_t steps = 0;       // optimizer steps taken in this run
  double last_loss = 0;    // mean loss over the last report interval
  double last_accuracy = 0;
  double valid_loss = -1;  // last end-of-epoch validation (-1 = no validation split)
  double valid_accuracy = -1;
  std::string last_checkpoint;
};

class Trainer {
 public:
  Trainer(TrainConfig config, std::string data_dir, std::string exp_dir);
  ~Trainer();

  // resume: "" = start fresh (refuses an exp dir that already has checkpoints),
  // "latest" = the newest checkpoint of the exp dir, anything else = a checkpoint directory.
  TrainSummary Run(const std::string& resume = "");

 private:
  std::pair<double, double> Validate();  // (mean loss, accuracy)
  struct State;
  std::unique_ptr<State> state_;
};

// Files in an experiment directory.
std::string ExpConfigPath(const std::string& exp_dir);    // resolved config.yaml
std::string ExpSpeakersPath(const std::string& exp_dir);  // class index → speaker id

}  // namespace speakernet
