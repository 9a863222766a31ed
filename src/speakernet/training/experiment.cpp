#include "speakernet/training/experiment.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/models/repvgg.h"
#include "speakernet/training/model_package.h"

namespace speakernet {

namespace fs = std::filesystem;

Experiment::Experiment(std::string dir) : dir_(std::move(dir)) {}

Experiment Experiment::Open(const std::string& dir) {
  Experiment exp(dir);
  SN_CHECK(!fs::is_regular_file(dir),
           "'{}' is a file (a model package?), not an experiment directory", dir);
  SN_CHECK(fs::is_directory(dir), "experiment directory '{}' does not exist", dir);
  SN_CHECK(exp.Exists(), "'{}' is not an experiment directory (no config.yaml)", dir);
  return exp;
}

std::string Experiment::ConfigPath() const { return (fs::path(dir_) / "config.yaml").string(); }
std::string Experiment::SpeakersPath() const { return (fs::path(dir_) / "speakers.txt").string(); }
std::string Experiment::CheckpointsDir() const { return (fs::path(dir_) / "checkpoints").string(); }
bool Experiment::Exists() const { return fs::exists(ConfigPath()); }

TrainConfig Experiment::LoadConfig(const std::vector<std::string>& overrides) const {
  SN_CHECK(Exists(), "'{}' is not an experiment directory (no config.yaml)", dir_);
  return LoadTrainConfig(ConfigPath(), overrides);
}

void Experiment::WriteConfig(const TrainConfig& config) const {
  MakeDirs(dir_);
  WriteTextAtomically(ConfigPath(), YamlToString(ConfigToYaml(config)));
}

std::vector<std::string> Experiment::LoadSpeakers() const {
  std::vector<std::string> speakers;
  std::ifstream in(SpeakersPath());
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) speakers.push_back(line);
  }
  return speakers;
}

void Experiment::WriteSpeakers(const std::vector<std::string>& speakers) const {
  MakeDirs(dir_);
  std::string text;
  for (const auto& spk : speakers) text += spk + "\n";
  WriteTextAtomically(SpeakersPath(), text);
}

std::string Experiment::WriteSingleCheckpoint(const std::string& tag, const TrainConfig& config,
                                              const StateDict& state, const std::string& source,
                                              bool force) const {
  const fs::path ckpt_dir = fs::path(CheckpointsDir()) / tag;
  SN_CHECK(force || !Exists(),
           "'{}' already holds an experiment (config.yaml); pass --force to overwrite", dir_);
  MakeDirs(ckpt_dir.parent_path().string());
  const fs::path tmp = ckpt_dir.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  MakeDirs(tmp.string());
  SaveStateDictFile((tmp / "model.pt").string(), state);
  YAML::Node position;
  position["epoch"] = 0;
  position["batch"] = 0;
  position["global_step"] = 0;
  position["end_of_epoch"] = true;
  position["unixtime"] = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  position["source"] = source;
  WriteTextAtomically((tmp / "state.yaml").string(), YamlToString(position));
  ReplaceDirectoryAtomically(tmp.string(), ckpt_dir.string());
  WriteConfig(config);
  return ckpt_dir.string();
}

std::vector<CheckpointInfo> Experiment::Checkpoints() const {
  std::vector<CheckpointInfo> out;
  if (!fs::is_directory(CheckpointsDir())) return out;
  for (const auto& entry : fs::directory_iterator(CheckpointsDir())) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.find(".tmp.") != std::string::npos) continue;
    if (!fs::exists(entry.path() / "state.yaml")) continue;
    out.push_back({entry.path().string(), Checkpointer::ReadPosition(entry.path().string())});
  }
  std::stable_sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) {
    return std::make_pair(a.position.global_step, a.dir) <
           std::make_pair(b.position.global_step, b.dir);
  });
  return out;
}

std::optional<std::string> Experiment::Newest() const { return Checkpointer(dir_, 1).Latest(); }

std::string Experiment::EpochCheckpoint(int64_t epoch) const {
  const fs::path dir = fs::path(CheckpointsDir()) / ("epoch-" + std::to_string(epoch));
  if (fs::exists(dir / "state.yaml")) return dir.string();
  std::string have;
  for (const CheckpointInfo& c : Checkpoints()) have += " " + fs::path(c.dir).filename().string();
  Fail(fmt::format("experiment '{}' has no checkpoint of epoch {} (it has:{})", dir_, epoch,
                   have.empty() ? " none" : have));
}

std::string Experiment::ResolveCheckpoint(const std::string& requested) const {
  if (!requested.empty()) {
    SN_CHECK(fs::is_directory(requested), "checkpoint directory '{}' does not exist", requested);
    return requested;
  }
  const std::optional<std::string> newest = Newest();
  SN_CHECK(newest.has_value(), "experiment '{}' has no checkpoint", dir_);
  return *newest;
}

TrainedModel Experiment::LoadModel(const std::string& checkpoint, bool deploy) const {
  TrainedModel m;
  m.config = LoadConfig();
  m.source = ResolveCheckpoint(checkpoint);
  const StateDict state = Checkpointer::LoadModelState(m.source);
  m.model = CreateModel(m.config.model);
  try {
    LoadStateDict(*m.model, WithoutClassifier(state));
  } catch (const Error& e) {
    Fail(fmt::format("checkpoint '{}' does not fit the model of '{}': {}", m.source, ConfigPath(),
                     e.what()));
  }
  for (const auto& kv : state) {
    if (kv.first.rfind(kClassifierPrefix, 0) == 0) m.classifier.push_back(kv);
  }
  m.model->eval();
  if (deploy && m.config.model.type == "repvgg" && !m.config.model.repvgg.deploy) {
    SwitchToDeploy(*m.model);
    m.config.model.repvgg.deploy = true;
  }
  return m;
}

bool IsModelPackage(const std::string& path) { return fs::is_regular_file(path); }

TrainedModel LoadTrainedModel(const std::string& exp_or_package, const std::string& checkpoint,
                              bool deploy) {
  if (!IsModelPackage(exp_or_package)) {
    return Experiment::Open(exp_or_package).LoadModel(checkpoint, deploy);
  }
  SN_CHECK(checkpoint.empty(), "'{}' is a model file: it has no checkpoints to choose from",
           exp_or_package);
  return ReadModelPackage(exp_or_package);  // packages hold deployed weights already
}

}  // namespace speakernet
