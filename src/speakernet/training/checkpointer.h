// Checkpoints: <exp>/checkpoints/<tag>/ holding everything a resumed run needs to continue as if
// never stopped: model + classifier (model.pt, a torch.load-able dict with speaker-net's names),
// optimizer state, RNG states and the training position. Each checkpoint directory is written
// under a temporary name, fsync'ed and renamed into place (common/atomic_file.h), and older
// checkpoints are pruned only after that, so neither a crash nor a power loss nor a full disk
// leaves a half checkpoint or removes the last good one.
#pragma once

#include <torch/optim/optimizer.h>

#include <optional>
#include <string>

#include "speakernet/models/state_dict.h"

namespace speakernet {

// Checkpoints store the classifier under this prefix ("loss.weight", as speaker-net does).
inline constexpr const char* kClassifierPrefix = "loss.";

// The entries of a full (model + classifier) state dict that belong to the model.
StateDict WithoutClassifier(const StateDict& state);

struct TrainingPosition {
  int64_t epoch = 0;        // epoch to run next (0-based)
  int64_t batch = 0;        // first batch of `epoch` still to run
  int64_t global_step = 0;  // optimizer steps taken so far
};

// Optional checkpoint content beyond model/optimizer/position.
struct CheckpointExtras {
  StateDict rng;     // replaces CaptureRngState() in rng.pt when non-empty (DDP: all ranks' states)
  StateDict scaler;  // AMP GradScaler state (scaler.pt), empty without AMP
  StateDict scheduler;  // lr schedule state (scheduler.pt: reduce_on_plateau), empty otherwise
};

// RNG states a resumed run needs: "cpu" (the default CPU generator: dither, dropout, init) and
// "cuda:<i>" for every visible CUDA device (none on a CPU-only machine).
StateDict CaptureRngState();
// Restores the states captured above. Rank r > 0 of a data-parallel run takes "cpu.rank<r>"
// (saved by the trainer from every rank) when present, so each rank continues its own stream.
void RestoreRngState(const StateDict& rng, int rank = 0);

class Checkpointer {
 public:
  // keep_periodic: how many of the newest periodic (non end-of-epoch) checkpoints to keep.
  Checkpointer(std::string exp_dir, int keep_periodic);

  // Returns the directory written.
  std::string Save(const std::string& tag, const StateDict& model_state,
                   torch::optim::Optimizer& optimizer, const TrainingPosition& position,
                   bool end_of_epoch, const CheckpointExtras& extras = {});

  // The checkpoint with the highest global step, if any.
  std::optional<std::string> Latest() const;

  // Loads optimizer state and RNG states (for `rank`) in place and returns the model state and
  // position; `scaler` and `scheduler` (if given) receive scaler.pt and scheduler.pt, empty
  // when the checkpoint has none.
  TrainingPosition Load(const std::string& checkpoint_dir, StateDict* model_state,
                        torch::optim::Optimizer& optimizer, int rank = 0,
                        StateDict* scaler = nullptr, StateDict* scheduler = nullptr) const;

  // Reads only the model state of a checkpoint (for extraction).
  static StateDict LoadModelState(const std::string& checkpoint_dir);
  static TrainingPosition ReadPosition(const std::string& checkpoint_dir);

  std::string checkpoints_dir() const { return dir_; }

 private:
  void Prune() const;

  std::string dir_;
  int keep_periodic_;
};

}  // namespace speakernet
