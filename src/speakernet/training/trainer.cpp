#include "speakernet/training/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "speakernet/augmentation/spec_augment.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/progress.h"
#include "speakernet/common/torch_compat.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/experiment.h"
#include "speakernet/training/grad_scaler.h"
#include "speakernet/training/optimizer.h"

namespace speakernet {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Running means over one report interval.
struct IntervalStats {
  double loss = 0, correct = 0, samples = 0, wait_seconds = 0, comm_seconds = 0;
  int64_t iters = 0;
  Clock::time_point start = Clock::now();
  void Reset() { *this = IntervalStats(); }
};

// fp16 autocast for the forward pass (CUDA), restored on scope exit.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool on) : on_(on) {
    if (on_) SetAutocastEnabled(c10::DeviceType::CUDA, true);
  }
  ~AutocastGuard() {
    if (on_) {
      SetAutocastEnabled(c10::DeviceType::CUDA, false);
      at::autocast::clear_cache();
    }
  }

 private:
  bool on_;
};

std::vector<torch::Tensor> Buffers(const torch::nn::Module& a, const torch::nn::Module& b) {
  std::vector<torch::Tensor> out = a.buffers();
  for (auto& t : b.buffers()) out.push_back(t);
  return out;
}

}  // namespace

namespace {
std::string ShapeString(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}
}  // namespace

StateDict LoadInitWeights(const std::string& path, const StateDict& expected,
                          bool with_classifier) {
  const fs::path file = fs::is_directory(path) ? fs::path(path) / "model.pt" : fs::path(path);
  SN_CHECK(fs::exists(file), "trainer.init_from: '{}' does not exist", file.string());
  const StateDict source = LoadStateDictFile(file.string());
  std::map<std::string, torch::Tensor> by_name(source.begin(), source.end());
  std::vector<std::string> errors;
  StateDict out;
  const auto is_classifier = [](const std::string& n) {
    return n.rfind(kClassifierPrefix, 0) == 0;
  };
  bool missing_classifier = false;
  for (const auto& [name, tensor] : expected) {
    if (!with_classifier && is_classifier(name)) {
      out.emplace_back(name, tensor);
      continue;
    }
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      missing_classifier = missing_classifier || is_classifier(name);
      errors.push_back(
          fmt::format("missing key '{}'{}", name,
                      is_classifier(name) ? " (a classifier of another loss.method?)" : ""));
      continue;
    }
    if (it->second.sizes() != tensor.sizes()) {
      errors.push_back(fmt::format("key '{}' has shape {} in the file but {} in this model{}", name,
                                   ShapeString(it->second), ShapeString(tensor),
                                   name.rfind(kClassifierPrefix, 0) == 0
                                       ? " (number of classes: check the data dir and "
                                         "trainer.target_num_multiplier)"
                                       : ""));
    }
    out.emplace_back(name, it->second);
    by_name.erase(it);
  }
  for (const auto& [name, tensor] : by_name) {
    if (!with_classifier && is_classifier(name)) continue;
    errors.push_back(fmt::format("unexpected key '{}'", name));
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += "\n  " + e;
    if (missing_classifier) {
      msg +=
          "\n(to fine-tune without the file's classifier, e.g. on other speakers, pass "
          "--trainer.init_classifier=false: the model only, with a fresh classifier)";
    }
    Fail(fmt::format("trainer.init_from '{}': {} error(s):{}", file.string(), errors.size(), msg));
  }
  return out;
}

namespace {

void WriteExpFiles(const std::string& exp_dir, const TrainConfig& config, const DataDir& data) {
  const Experiment exp(exp_dir);
  exp.WriteConfig(config);
  exp.WriteSpeakers(data.speakers());
}

void AppendCsvRow(const std::string& path, const std::string& row) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  if (fresh)
    out << "epoch,iter,global_step,lr,loss,accuracy,margin_fraction,samples_per_s,data_wait\n";
  out << row << "\n";
}

void AppendValidRow(const std::string& path, const std::string& row) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  if (fresh) out << "epoch,global_step,valid_loss,valid_accuracy,chunks\n";
  out << row << "\n";
}

}  // namespace

// Everything one Run() works with, and its phases in the order Run() calls them:
// SetUpDevice → LoadData → BuildModel → StartOrResume → SetUpDistributed → TrainEpoch per epoch
// (TrainStep, Report, ValidationPhase, SaveMidEpoch per iteration; EndEpoch) → FinishDistributed.
struct Trainer::State {
  TrainConfig config;
  std::string data_dir, exp_dir;
  torch::Device device{torch::kCPU};
  std::unique_ptr<DataDir> data;
  std::unique_ptr<ChunkLoader> loader;
  std::unique_ptr<ChunkLoader> valid_loader;  // null without a validation split
  std::unique_ptr<FrontEnd> front_end;
  std::shared_ptr<SpeakerModel> model;
  std::shared_ptr<ClassifierLossImpl> loss;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<ReduceOnPlateau> plateau;  // lr_schedule.name reduce_on_plateau only
  std::unique_ptr<Checkpointer> checkpointer;
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> buffers;  // model + classifier buffers (broadcast under DDP)
  std::unique_ptr<GradScaler> scaler;
  DistEnv dist_env;
  std::unique_ptr<Distributed> dist;
  std::unique_ptr<DistributedBatchNormSync> bn_sync;  // DDP with trainer.sync_bn only

  int64_t iters_per_epoch = 0;
  int64_t num_classes = 0;
  TrainingPosition pos;  // where the run is: next epoch/batch, steps taken so far
  TrainSummary summary;
  IntervalStats stats;
  Clock::time_point last_ckpt_time;
  std::unique_ptr<ProgressMeter> eta;
  std::string csv_path;

  int rank() const { return dist_env.rank; }
  int world() const { return dist_env.world_size; }
  bool main_rank() const { return dist_env.rank == 0; }
  int64_t total_steps() const { return config.trainer.epochs * iters_per_epoch; }

  StateDict FullStateDict() const {
    StateDict state = GetStateDict(*model);
    for (auto& kv : GetStateDict(*loss, kClassifierPrefix)) state.push_back(kv);
    return state;
  }
  void LoadFullStateDict(const StateDict& state) {
    LoadStateDict(*model, WithoutClassifier(state));
    LoadStateDict(*loss, state, kClassifierPrefix);
  }
  // scheduler.pt: the reduce_on_plateau state (nothing for the closed-form schedules).
  StateDict SchedulerState() const {
    if (!plateau) return {};
    return {{"reduce_on_plateau", torch::tensor(plateau->State(), torch::kFloat64)}};
  }
  void LoadSchedulerState(const std::string& ckpt, const StateDict& state) {
    SN_CHECK(state.size() == 1 && state[0].first == "reduce_on_plateau",
             "checkpoint '{}' has no reduce_on_plateau state (scheduler.pt): it was written with "
             "another lr_schedule.name",
             ckpt);
    const torch::Tensor t = state[0].second.to(torch::kFloat64).contiguous();
    plateau->LoadState({t.data_ptr<double>(), t.data_ptr<double>() + t.numel()});
  }

  void SetUpDevice();
  void LoadData();
  void BuildModel();
  void StartOrResume(const std::string& resume);
  void SetUpDistributed(bool fresh);
  CheckpointExtras Extras();
  bool TrainEpoch(int64_t epoch);  // false when trainer.max_iters stopped the run
  torch::Tensor TrainingFeatures(const Batch& batch, int64_t epoch, int64_t iter);
  ClassifierOutput TrainStep(const Batch& batch, int64_t epoch, int64_t iter, double lr);
  void Report(int64_t epoch, int64_t iter, double lr);
  void SaveMidEpoch(int64_t epoch, int64_t iter, bool iter_limit);
  void EndEpoch(int64_t epoch);
  std::pair<double, double> Validate();  // (mean loss, accuracy)
  void ValidationPhase(int64_t epoch, int64_t iter);
  void FinishDistributed();
};

Trainer::Trainer(TrainConfig config, std::string data_dir, std::string exp_dir, DistEnv dist)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.dist_env = std::move(dist);
  s.config = std::move(config);
  s.data_dir = std::move(data_dir);
  s.exp_dir = std::move(exp_dir);
}

Trainer::~Trainer() = default;

void Trainer::State::SetUpDevice() {
  const int threads = ConfigureRuntime(config.runtime);
  device = ParseDevice(config.runtime.device);
  if (world() > 1 && device.is_cuda()) {
    // One GPU per local rank, as torchrun does.
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist_env.local_rank));
  }
  SN_CHECK(!config.trainer.amp || device.is_cuda(),
           "trainer.amp: true needs a CUDA device (runtime.device={}); mixed precision on CPU is "
           "not supported, set trainer.amp=false",
           device.str());
  spdlog::info("train: data {}, exp {}, device {}, {} threads", data_dir, exp_dir, device.str(),
               threads);
  spdlog::info("train: config {}", ConfigToString(config));
}

void Trainer::State::LoadData() {
  data = std::make_unique<DataDir>(DataDir::Load(data_dir));
  SN_CHECK(data->HasSpeakerLabels(), "train: data dir '{}' has no utt2spk (or spk2utt)", data_dir);
  data->EnsureDurations();
  loader = std::make_unique<ChunkLoader>(*data, config.loader);
  if (world() > 1) loader->SetShard(rank(), world());
  if (main_rank() && !loader->ValidationChunks().empty()) {
    valid_loader = std::make_unique<ChunkLoader>(*data, config.loader, loader->ValidationChunks());
  }
  iters_per_epoch = loader->BatchesPerEpoch();
  SN_CHECK(iters_per_epoch > 0, "data dir '{}' gives no full batch of {} chunks", data_dir,
           config.loader.batch_size);
  const auto num_speakers = static_cast<int64_t>(data->speakers().size());
  // Speed perturbation makes every speaker three classes (spec §1.4); otherwise classes = speakers.
  // trainer.target_num_multiplier keeps a speed-perturbed classifier's shape in fine-tuning.
  const int multiplier = config.trainer.target_num_multiplier;
  num_classes = multiplier > 0 ? num_speakers * std::max<int64_t>(
                                                    multiplier, loader->NumClasses() / num_speakers)
                               : loader->NumClasses();
}

void Trainer::State::BuildModel() {
  const auto& cfg = config;
  torch::manual_seed(static_cast<uint64_t>(cfg.trainer.seed));
  front_end = std::make_unique<FrontEnd>(cfg.features);
  model = CreateModel(cfg.model);
  loss = MakeClassifierLoss(cfg.loss, model->EmbeddingDim(), num_classes);
  model->to(device);
  loss->to(device);
  parameters = model->parameters();
  for (auto& p : loss->parameters()) parameters.push_back(p);
  optimizer = MakeOptimizer(cfg.optimizer, parameters);
  if (cfg.lr_schedule.name == "reduce_on_plateau") {
    SN_CHECK(!loader->ValidationChunks().empty(),
             "lr_schedule.name reduce_on_plateau needs a validation split "
             "(loader.validation_speakers > 0)");
    plateau =
        std::make_unique<ReduceOnPlateau>(cfg.lr_schedule.reduce_on_plateau, cfg.optimizer.lr);
  }
  checkpointer = std::make_unique<Checkpointer>(exp_dir, cfg.trainer.keep_periodic);
  spdlog::info("train: {}; {} speakers ({} classes), {} utterances, {} iterations/epoch",
               DescribeModel(cfg.model, *model), data->speakers().size(), num_classes,
               data->NumUtterances(), iters_per_epoch);
  scaler = std::make_unique<GradScaler>(cfg.trainer.amp);
}

void Trainer::State::StartOrResume(const std::string& resume) {
  const auto& cfg = config;
  if (resume.empty()) {
    SN_CHECK(
        !checkpointer->Latest(),
        "exp dir '{}' already has checkpoints: pass --resume to continue it, or choose a new --exp",
        exp_dir);
    if (!cfg.trainer.init_from.empty()) {
      LoadFullStateDict(
          LoadInitWeights(cfg.trainer.init_from, FullStateDict(), cfg.trainer.init_classifier));
      if (cfg.trainer.init_classifier) {
        spdlog::info("train: initialised model and classifier from {}", cfg.trainer.init_from);
      } else {
        spdlog::info("train: initialised the model from {} (fresh classifier)",
                     cfg.trainer.init_from);
      }
    }
    return;
  }
  const std::string ckpt = resume == "latest" ? checkpointer->Latest().value_or("") : resume;
  SN_CHECK(!ckpt.empty(), "--resume: no checkpoint found in '{}'", checkpointer->checkpoints_dir());
  StateDict model_state, scaler_state, scheduler_state;
  pos = checkpointer->Load(ckpt, &model_state, *optimizer, rank(), &scaler_state, &scheduler_state);
  LoadFullStateDict(model_state);
  if (cfg.trainer.amp && !scaler_state.empty()) scaler->LoadStateDictFrom(scaler_state);
  if (plateau) LoadSchedulerState(ckpt, scheduler_state);
  spdlog::info("train: resumed from {} (epoch {}, batch {}, step {})", ckpt, pos.epoch + 1,
               pos.batch, pos.global_step);
}

// Rendezvous after every rank has read the experiment state, before rank 0 writes to it.
void Trainer::State::SetUpDistributed(bool fresh) {
  const auto& cfg = config;
  dist_env.timeout_seconds = cfg.trainer.ddp_timeout_seconds;
  dist = std::make_unique<Distributed>(dist_env, device);
  buffers = Buffers(*model, *loss);
  if (dist->enabled()) {
    // Identical start on every rank (rank 0's init or checkpoint), then each fresh rank its own
    // dither stream, like speaker-net's set_seed(seed + rank); a resumed rank got its stream back.
    dist->Broadcast(parameters);
    dist->Broadcast(buffers);
    if (fresh) torch::manual_seed(static_cast<uint64_t>(cfg.trainer.seed + rank()));
    spdlog::info("train: {} ranks ({}), global batch {} = {} per rank", world(), dist->backend(),
                 cfg.loader.batch_size, cfg.loader.batch_size / world());
    spdlog::info("train: sync_bn {}", cfg.trainer.sync_bn
                                          ? "on: BatchNorm statistics over the global batch"
                                          : "off: BatchNorm statistics per rank");
  }
  // Under DDP with sync_bn every training-mode BN forward/backward all-reduces its statistics
  // (models/sync_batch_norm.h); Run() installs it for its thread, which runs every forward.
  if (dist->enabled() && cfg.trainer.sync_bn) {
    bn_sync = std::make_unique<DistributedBatchNormSync>(*dist);
  }
  if (main_rank() && fresh) WriteExpFiles(exp_dir, cfg, *data);
}

// Checkpoint contents beyond model/optimizer: every rank's RNG (a collective), the scaler and
// the lr schedule's state.
CheckpointExtras Trainer::State::Extras() {
  CheckpointExtras e;
  if (dist->enabled()) {
    e.rng = CaptureRngState();
    torch::Tensor cpu = e.rng.front().second;
    const auto all = dist->AllGather(cpu);
    for (int r = 1; r < world(); ++r) e.rng.emplace_back(fmt::format("cpu.rank{}", r), all[r]);
  }
  if (config.trainer.amp) e.scaler = scaler->StateDictOf();
  e.scheduler = SchedulerState();
  return e;
}

// Front end without gradients, then SpecAugment seeded from (seed, epoch, batch[, rank]) like
// the loader, so that resume redraws the same masks.
torch::Tensor Trainer::State::TrainingFeatures(const Batch& batch, int64_t epoch, int64_t iter) {
  torch::NoGradGuard no_grad;
  torch::Tensor feats = (*front_end)(batch.waves.to(device), /*training=*/true);
  if (config.loader.augment.spec_augment) {
    const int64_t seed = config.loader.seed;
    auto gen = at::detail::createCPUGenerator(MixSeed({seed, epoch, iter, 77}));
    // Under DDP each rank masks its own rows with its own stream.
    if (world() > 1) gen = at::detail::createCPUGenerator(MixSeed({seed, epoch, iter, 77, rank()}));
    SpecAugment(feats, config.loader.augment.spec, gen);
  }
  return feats;
}

// Forward, backward, gradient averaging (DDP), clipping and the optimizer step.
ClassifierOutput Trainer::State::TrainStep(const Batch& batch, int64_t epoch, int64_t iter,
                                           double lr) {
  const auto& cfg = config;
  const torch::Tensor feats = TrainingFeatures(batch, epoch, iter);
  const torch::Tensor labels = batch.labels.to(device);
  // torch DDP's broadcast_buffers: every forward starts from rank 0's BN running statistics.
  if (dist->enabled()) dist->Broadcast(buffers);
  ClassifierOutput out;
  {
    AutocastGuard autocast(cfg.trainer.amp);
    out = loss->forward(model->ForwardClassifierInput(feats), labels);
  }
  optimizer->zero_grad();
  scaler->Scale(out.loss).backward();
  // Mean of the per-rank mean losses = the global batch's mean loss (equal shards).
  const auto comm_start = Clock::now();
  dist->AverageGradients(parameters, cfg.trainer.ddp_bucket_mb);
  stats.comm_seconds += std::chrono::duration<double>(Clock::now() - comm_start).count();
  scaler->Unscale(parameters);  // before clipping, as torch.cuda.amp prescribes
  double grad_norm = 0;
  if (cfg.trainer.max_grad_norm > 0) {
    grad_norm = torch::nn::utils::clip_grad_norm_(parameters, cfg.trainer.max_grad_norm);
  }
  if (cfg.trainer.amp) {
    // AMP: an overflow skips this step and backs the scale off (speaker-net warns only).
    if (!scaler->Step(*optimizer, parameters)) {
      spdlog::warn("epoch {} iteration {}: non-finite gradients at loss scale {}, step skipped",
                   epoch + 1, iter, scaler->scale());
    }
    scaler->Update();
  } else {
    SN_CHECK(std::isfinite(grad_norm),
             "non-finite gradient norm at epoch {} iteration {} (lr {}): training diverged",
             epoch + 1, iter, lr);
    optimizer->step();
  }
  return out;
}

// The progress line and train_log.csv row of one report interval (global statistics under DDP).
void Trainer::State::Report(int64_t epoch, int64_t iter, double lr) {
  const auto& cfg = config;
  if (dist->enabled()) {  // statistics of the global batches, not of this rank's shard
    auto t = torch::tensor({stats.loss, stats.correct, stats.samples}, torch::kFloat64);
    dist->AllReduceSum(t);
    stats.loss = t[0].item<double>() / world();
    stats.correct = t[1].item<double>();
    stats.samples = t[2].item<double>();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - stats.start).count();
  summary.last_loss = stats.loss / stats.iters;
  summary.last_accuracy = stats.correct / stats.samples;
  const double rate = stats.samples / std::max(secs, 1e-9);
  const double wait = stats.wait_seconds / std::max(secs, 1e-9);
  const double margin = loss->MarginFraction();
  const double remaining = (total_steps() - pos.global_step) * (secs / stats.iters);
  spdlog::info(
      "epoch {}/{} iter {}/{} | loss {:.4f} acc {:.2f}% | lr {:.3g} margin {:.1f}% | "
      "{:.1f} samples/s, data wait {:.1f}% | ETA {}",
      epoch + 1, cfg.trainer.epochs, iter + 1, iters_per_epoch, summary.last_loss,
      100 * summary.last_accuracy, lr, 100 * margin, rate, 100 * wait, FormatDuration(remaining));
  if (dist->enabled()) {
    spdlog::info("  gradient all-reduce {:.2f} ms/iteration ({:.1f}% of the time)",
                 1e3 * stats.comm_seconds / stats.iters,
                 100 * stats.comm_seconds / std::max(secs, 1e-9));
  }
  if (main_rank()) {
    AppendCsvRow(csv_path, fmt::format("{},{},{},{:.6g},{:.6f},{:.6f},{:.6f},{:.3f},{:.4f}",
                                       epoch + 1, iter + 1, pos.global_step, lr, summary.last_loss,
                                       summary.last_accuracy, margin, rate, wait));
  }
  stats.Reset();
}

// A periodic checkpoint inside the epoch: at the iteration limit, every ckpt_interval_iters
// steps or every ckpt_interval_minutes (rank 0's clock decides under DDP).
void Trainer::State::SaveMidEpoch(int64_t epoch, int64_t iter, bool iter_limit) {
  const auto& t = config.trainer;
  const bool by_iters = t.ckpt_interval_iters > 0 && pos.global_step % t.ckpt_interval_iters == 0;
  bool by_time = t.ckpt_interval_minutes > 0 &&
                 std::chrono::duration<double>(Clock::now() - last_ckpt_time).count() >=
                     60.0 * t.ckpt_interval_minutes;
  if (dist->enabled() && t.ckpt_interval_minutes > 0) {
    // Rank 0's clock decides, so that all ranks enter the checkpoint's collective together.
    auto flag = torch::tensor({by_time ? 1.0 : 0.0}, torch::kFloat64);
    dist->Broadcast({flag});
    by_time = flag.item<double>() > 0;
  }
  if (!(iter_limit || by_iters || by_time)) return;
  const TrainingPosition next{epoch, iter + 1, pos.global_step};
  const CheckpointExtras e = Extras();
  if (main_rank()) {
    summary.last_checkpoint = checkpointer->Save("step-" + std::to_string(pos.global_step),
                                                 FullStateDict(), *optimizer, next, false, e);
    spdlog::info("train: checkpoint {}", summary.last_checkpoint);
  }
  last_ckpt_time = Clock::now();
}

// One epoch from pos.batch (the resumed batch in the first epoch of a resumed run).
bool Trainer::State::TrainEpoch(int64_t epoch) {
  const auto& cfg = config;
  model->train();
  loss->train();
  loader->StartEpoch(epoch, epoch == pos.epoch ? pos.batch : 0);
  while (auto batch = loader->Next()) {
    const int64_t iter = batch->index;
    const int64_t global_iter = epoch * iters_per_epoch + iter;
    const double lr = LearningRate(cfg.lr_schedule, plateau ? plateau->lr() : cfg.optimizer.lr,
                                   global_iter, iters_per_epoch, cfg.trainer.epochs);
    SetLearningRate(*optimizer, lr);
    loss->SetLambda(MarginLambda(cfg.margin_schedule, epoch, iter, iters_per_epoch));
    const ClassifierOutput out = TrainStep(*batch, epoch, iter, lr);
    ++pos.global_step;
    ++summary.steps;
    eta->Advance();

    const double loss_value = out.loss.item<double>();
    SN_CHECK(cfg.trainer.amp || std::isfinite(loss_value),
             "non-finite loss at epoch {} iteration {}", epoch + 1, iter);
    stats.loss += loss_value;
    stats.correct += out.logits.argmax(1).eq(batch->labels.to(device)).sum().item<double>();
    stats.samples += static_cast<double>(batch->labels.size(0));
    stats.wait_seconds += batch->wait_seconds;
    ++stats.iters;

    const bool last_iter = iter + 1 == iters_per_epoch;
    const bool iter_limit = cfg.trainer.max_iters > 0 && summary.steps >= cfg.trainer.max_iters;
    if (stats.iters == cfg.trainer.report_interval_iters || last_iter) Report(epoch, iter, lr);
    if (last_iter) {
      EndEpoch(epoch);
      return !iter_limit;
    }
    // speaker-net validates after iterations 0, N, 2N, ... of every epoch (and its last).
    if (cfg.trainer.valid_interval_iters > 0 && iter % cfg.trainer.valid_interval_iters == 0) {
      ValidationPhase(epoch, iter);
    }
    SaveMidEpoch(epoch, iter, iter_limit);
    if (iter_limit) return false;
  }
  return true;
}

// End of an epoch: validation, then the end-of-epoch checkpoint.
void Trainer::State::EndEpoch(int64_t epoch) {
  ValidationPhase(epoch, iters_per_epoch - 1);
  const TrainingPosition next{epoch + 1, 0, pos.global_step};
  const CheckpointExtras e = Extras();
  if (main_rank()) {
    summary.last_checkpoint = checkpointer->Save("epoch-" + std::to_string(epoch + 1),
                                                 FullStateDict(), *optimizer, next, true, e);
    spdlog::info("train: end of epoch {}, checkpoint {}", epoch + 1, summary.last_checkpoint);
  }
  last_ckpt_time = Clock::now();
}

// Loss and accuracy on the held-out chunks: eval mode, no augmentation, same label space.
std::pair<double, double> Trainer::State::Validate() {
  torch::NoGradGuard no_grad;
  model->eval();
  loss->eval();
  double total = 0, correct = 0, n = 0;
  valid_loader->StartEpoch(0);
  while (auto batch = valid_loader->Next()) {
    const torch::Tensor feats = (*front_end)(batch->waves.to(device), /*training=*/false);
    const torch::Tensor labels = batch->labels.to(device);
    auto out = loss->forward(model->ForwardClassifierInput(feats), labels);
    const auto b = static_cast<double>(labels.size(0));
    total += out.loss.item<double>() * b;
    correct += out.logits.argmax(1).eq(labels).sum().item<double>();
    n += b;
  }
  model->train();
  loss->train();
  return {total / n, correct / n};
}

// Rank 0 validates (when there is a split) and logs; with reduce_on_plateau every rank then
// steps its plateau state with rank 0's metrics, so that all ranks keep the same lr.
void Trainer::State::ValidationPhase(int64_t epoch, int64_t iter) {
  if (valid_loader) {
    const auto [valid_loss, valid_acc] = Validate();
    const size_t chunks = loader->ValidationChunks().size();
    const bool epoch_end = iter + 1 == iters_per_epoch;
    spdlog::info("epoch {}/{}{} validation | loss {:.4f} acc {:.2f}% on {} chunks", epoch + 1,
                 config.trainer.epochs, epoch_end ? "" : fmt::format(" iter {}", iter + 1),
                 valid_loss, 100 * valid_acc, chunks);
    summary.valid_loss = valid_loss;
    summary.valid_accuracy = valid_acc;
    AppendValidRow((fs::path(exp_dir) / "valid_log.csv").string(),
                   fmt::format("{},{},{:.6f},{:.6f},{}", epoch + 1, pos.global_step, valid_loss,
                               valid_acc, chunks));
  }
  if (plateau) {
    auto t = torch::tensor({summary.valid_loss, summary.valid_accuracy}, torch::kFloat64);
    if (dist->enabled()) dist->Broadcast({t});
    plateau->Step(t[0].item<double>(), t[1].item<double>());
  }
}

// Averaged gradients must keep the parameters identical; a difference is a bug, not noise.
// Without sync_bn, buffers (BN running statistics) drift apart in every forward and are
// re-synced from rank 0 at the next forward, as torch DDP does; sync them once more.
void Trainer::State::FinishDistributed() {
  summary.rank_max_difference = dist->MaxDifferenceFromRank0(parameters);
  dist->Broadcast(buffers);
  spdlog::info("train: ranks in sync, max |parameter - rank 0| = {}", summary.rank_max_difference);
  SN_CHECK(summary.rank_max_difference == 0,
           "rank {}: parameters differ from rank 0 by up to {} after training", rank(),
           summary.rank_max_difference);
  dist->Barrier();  // rank 0's last checkpoint is complete before anyone reports success
}

TrainSummary Trainer::Run(const std::string& resume) {
  auto& s = *state_;
  s.pos = TrainingPosition();
  s.summary = TrainSummary();
  MakeDirs(s.exp_dir);
  const ScopedLogFile log_file(
      (fs::path(s.exp_dir) /
       (s.main_rank() ? "train.log" : fmt::format("train.rank{}.log", s.rank())))
          .string());
  s.SetUpDevice();
  s.LoadData();
  s.BuildModel();
  s.StartOrResume(resume);
  s.SetUpDistributed(resume.empty());
  ScopedBatchNormSync bn_sync_guard(s.bn_sync.get());

  s.stats = IntervalStats();
  s.last_ckpt_time = Clock::now();
  s.csv_path = (fs::path(s.exp_dir) / "train_log.csv").string();
  s.eta = std::make_unique<ProgressMeter>("train", s.total_steps(), "steps", 1e30);
  for (int64_t epoch = s.pos.epoch; epoch < s.config.trainer.epochs; ++epoch) {
    if (!s.TrainEpoch(epoch)) break;
  }
  if (s.dist->enabled()) s.FinishDistributed();
  return s.summary;
}

}  // namespace speakernet
