#include "speakernet/training/checkpointer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/serialize.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"

namespace speakernet {

namespace fs = std::filesystem;

namespace {

const char* kModelFile = "model.pt";
const char* kOptimizerFile = "optimizer.pt";
const char* kRngFile = "rng.pt";
const char* kStateFile = "state.yaml";

const char* kScalerFile = "scaler.pt";
const char* kSchedulerFile = "scheduler.pt";

// Writes every file of a checkpoint into `dir` (each durably).
void WriteCheckpointFiles(const fs::path& dir, const StateDict& model_state,
                          torch::optim::Optimizer& optimizer, const TrainingPosition& position,
                          bool end_of_epoch, const CheckpointExtras& extras) {
  SaveStateDictFile((dir / kModelFile).string(), model_state);
  {
    // Serialized in memory, so a short write (full disk) is reported naming the file.
    std::ostringstream bytes;
    torch::save(optimizer, bytes);
    WriteTextAtomically((dir / kOptimizerFile).string(), bytes.str());
  }
  SaveStateDictFile((dir / kRngFile).string(), extras.rng.empty() ? CaptureRngState() : extras.rng);
  if (!extras.scaler.empty()) SaveStateDictFile((dir / kScalerFile).string(), extras.scaler);
  if (!extras.scheduler.empty()) {
    SaveStateDictFile((dir / kSchedulerFile).string(), extras.scheduler);
  }
  YAML::Node state;
  state["epoch"] = position.epoch;
  state["batch"] = position.batch;
  state["global_step"] = position.global_step;
  state["end_of_epoch"] = end_of_epoch;
  state["unixtime"] = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  WriteTextAtomically((dir / kStateFile).string(), YamlToString(state));
}

}  // namespace

// The default CPU generator feeds dither, dropout and init; saving it makes resume bit-exact.
// CUDA generators go through the device-generic Context API, so no CUDA header is needed.
StateDict CaptureRngState() {
  StateDict rng;
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng.emplace_back("cpu", gen.get_state());
  }
  if (torch::cuda::is_available()) {
    for (size_t i = 0; i < static_cast<size_t>(torch::cuda::device_count()); ++i) {
      auto g = at::globalContext().defaultGenerator(
          c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(g.mutex());
      rng.emplace_back("cuda:" + std::to_string(i), g.get_state());
    }
  }
  return rng;
}

void RestoreRngState(const StateDict& rng, int rank) {
  const std::string mine = rank == 0 ? "cpu" : "cpu.rank" + std::to_string(rank);
  bool have_mine = false;
  for (const auto& kv : rng) have_mine = have_mine || kv.first == mine;
  for (const auto& [name, state] : rng) {
    if (name == (have_mine ? mine : std::string("cpu"))) {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state);
    } else if (name.rfind("cuda:", 0) == 0 && torch::cuda::is_available()) {
      const auto i = std::stoi(name.substr(5));
      if (i < static_cast<int>(torch::cuda::device_count())) {
        auto g = at::globalContext().defaultGenerator(
            c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(i)));
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(state);
      }
    }
  }
}

StateDict WithoutClassifier(const StateDict& state) {
  StateDict model;
  for (const auto& kv : state) {
    if (kv.first.rfind(kClassifierPrefix, 0) != 0) model.push_back(kv);
  }
  return model;
}

Checkpointer::Checkpointer(std::string exp_dir, int keep_periodic)
    : dir_((fs::path(exp_dir) / "checkpoints").string()), keep_periodic_(keep_periodic) {}

std::string Checkpointer::Save(const std::string& tag, const StateDict& model_state,
                               torch::optim::Optimizer& optimizer, const TrainingPosition& position,
                               bool end_of_epoch, const CheckpointExtras& extras) {
  MakeDirs(dir_);
  const fs::path final_dir = fs::path(dir_) / tag;
  const fs::path tmp_dir = fs::path(dir_) / (tag + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp_dir);
  MakeDirs(tmp_dir.string());
  try {
    WriteCheckpointFiles(tmp_dir.string(), model_state, optimizer, position, end_of_epoch, extras);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp_dir, ignored);  // a full disk leaves no partial directory behind
    throw;
  }
  // Durable before anything older is pruned: a crash at any point leaves a loadable checkpoint.
  ReplaceDirectoryAtomically(tmp_dir.string(), final_dir.string());
  if (!end_of_epoch) Prune();
  return final_dir.string();
}

TrainingPosition Checkpointer::ReadPosition(const std::string& checkpoint_dir) {
  const std::string path = (fs::path(checkpoint_dir) / kStateFile).string();
  SN_CHECK(fs::exists(path), "'{}' is not a checkpoint (no {})", checkpoint_dir, kStateFile);
  const YAML::Node state = LoadYamlFile(path);
  TrainingPosition p;
  try {
    p.epoch = state["epoch"].as<int64_t>();
    p.batch = state["batch"].as<int64_t>();
    p.global_step = state["global_step"].as<int64_t>();
  } catch (const YAML::Exception& e) {
    Fail(fmt::format("checkpoint state '{}' is malformed: {}", path, e.what()));
  }
  return p;
}

std::optional<std::string> Checkpointer::Latest() const {
  if (!fs::exists(dir_)) return std::nullopt;
  std::optional<std::string> best;
  int64_t best_step = -1;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (!entry.is_directory() || entry.path().filename().string().find(".tmp.") != std::string::npos)
      continue;
    if (!fs::exists(entry.path() / kStateFile)) continue;
    const auto p = ReadPosition(entry.path().string());
    if (p.global_step > best_step) {
      best_step = p.global_step;
      best = entry.path().string();
    }
  }
  return best;
}

StateDict Checkpointer::LoadModelState(const std::string& checkpoint_dir) {
  return LoadStateDictFile((fs::path(checkpoint_dir) / kModelFile).string());
}

TrainingPosition Checkpointer::Load(const std::string& checkpoint_dir, StateDict* model_state,
                                    torch::optim::Optimizer& optimizer, int rank,
                                    StateDict* scaler, StateDict* scheduler) const {
  const TrainingPosition position = ReadPosition(checkpoint_dir);
  *model_state = LoadModelState(checkpoint_dir);
  torch::load(optimizer, (fs::path(checkpoint_dir) / kOptimizerFile).string());
  RestoreRngState(LoadStateDictFile((fs::path(checkpoint_dir) / kRngFile).string()), rank);
  if (scaler != nullptr) {
    scaler->clear();
    const fs::path path = fs::path(checkpoint_dir) / kScalerFile;
    if (fs::exists(path)) *scaler = LoadStateDictFile(path.string());
  }
  if (scheduler != nullptr) {
    scheduler->clear();
    const fs::path path = fs::path(checkpoint_dir) / kSchedulerFile;
    if (fs::exists(path)) *scheduler = LoadStateDictFile(path.string());
  }
  return position;
}

void Checkpointer::Prune() const {
  std::vector<std::pair<int64_t, fs::path>> periodic;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("step-", 0) != 0) continue;
    if (!fs::exists(entry.path() / kStateFile)) continue;
    periodic.emplace_back(ReadPosition(entry.path().string()).global_step, entry.path());
  }
  std::sort(periodic.rbegin(), periodic.rend());
  for (size_t i = static_cast<size_t>(std::max(keep_periodic_, 1)); i < periodic.size(); ++i) {
    fs::remove_all(periodic[i].second);
  }
}

}  // namespace speakernet
