// An experiment directory and what is loaded from it, in one place:
//
//   EXP/config.yaml                 the resolved training config (model + front end + ...)
//   EXP/speakers.txt                class index -> speaker id, one per line
//   EXP/checkpoints/<tag>/          epoch-N (end of epoch N, 1-based), step-N (periodic),
//                                   imported, deploy, ... (training/checkpointer.h)
//
// and a trained model for inference, loaded from an experiment (a checkpoint of it) or from a
// single-file model package (training/model_package.h); see LoadTrainedModel.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/train_config.h"

namespace speakernet {

struct CheckpointInfo {
  std::string dir;
  TrainingPosition position;
};

// A model ready for inference: built from its config, weights loaded (strict: a checkpoint of
// another architecture is an error), eval mode, on the CPU.
struct TrainedModel {
  TrainConfig config;  // the training config: model, front end (features), ...
  std::shared_ptr<SpeakerModel> model;
  StateDict classifier;             // the checkpoint's loss.* entries (none from a package)
  std::string source;               // checkpoint directory or package file
  std::optional<double> threshold;  // a package's calibrated accept threshold, if it has one
};

class Experiment {
 public:
  // `dir` need not exist (an experiment about to be written).
  explicit Experiment(std::string dir);
  // An existing experiment: an Error naming `dir` when it has no config.yaml.
  static Experiment Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string ConfigPath() const;
  std::string SpeakersPath() const;
  std::string CheckpointsDir() const;
  bool Exists() const;  // config.yaml is there

  TrainConfig LoadConfig(const std::vector<std::string>& overrides = {}) const;
  // Creates the directory; written atomically.
  void WriteConfig(const TrainConfig& config) const;
  std::vector<std::string> LoadSpeakers() const;  // empty when speakers.txt is absent
  void WriteSpeakers(const std::vector<std::string>& speakers) const;
  // Writes config.yaml and one checkpoint `tag` holding `state` (model and any classifier
  // entries; no optimizer state, position 0, `source` recorded in its state.yaml), for
  // imported, converted or averaged models. The checkpoint directory is written under a
  // temporary name and renamed into place. An existing experiment is an Error unless `force`.
  // Returns the checkpoint directory.
  std::string WriteSingleCheckpoint(const std::string& tag, const TrainConfig& config,
                                    const StateDict& state, const std::string& source,
                                    bool force) const;

  // Finished checkpoints (temporary directories of an interrupted save are skipped), by
  // increasing global step.
  std::vector<CheckpointInfo> Checkpoints() const;
  std::optional<std::string> Newest() const;
  // The checkpoint of epoch `epoch` (1-based, as named); an Error listing what exists otherwise.
  std::string EpochCheckpoint(int64_t epoch) const;
  // `requested` when given (must be a checkpoint directory), else the newest; Error if none.
  std::string ResolveCheckpoint(const std::string& requested = "") const;

  // Builds the config's model and loads the checkpoint's weights (`checkpoint` as in
  // ResolveCheckpoint). deploy: RepVGG re-parameterised into plain 3x3 convs (its config then
  // says model.repvgg.deploy: true); no effect on other models.
  TrainedModel LoadModel(const std::string& checkpoint = "", bool deploy = false) const;

 private:
  std::string dir_;
};

// True when `path` is a file (a model package), false for a directory (an experiment).
bool IsModelPackage(const std::string& path);

// A trained model from an experiment directory (`checkpoint` as in ResolveCheckpoint) or from a
// model package file (`checkpoint` must then be empty). deploy as in Experiment::LoadModel.
TrainedModel LoadTrainedModel(const std::string& exp_or_package, const std::string& checkpoint = "",
                              bool deploy = false);

}  // namespace speakernet
