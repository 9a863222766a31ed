#include "speakernet/backend/embedding_extractor.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/progress.h"
#include "speakernet/features/fbank.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/trainer.h"

namespace speakernet {

namespace fs = std::filesystem;

void ExtractConfig::Validate() const {
  SN_CHECK(max_frames > 0, "max_frames must be > 0, got {}", max_frames);
}

struct EmbeddingExtractor::Impl {
  TrainConfig config;
  ExtractConfig extract;
  torch::Device device{torch::kCPU};
  std::unique_ptr<Fbank> fbank;
  std::shared_ptr<SpeakerModel> model;
  std::string checkpoint;
};

EmbeddingExtractor::EmbeddingExtractor(const std::string& exp_dir, const ExtractConfig& config,
                                       const RuntimeConfig& runtime)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  config.Validate();
  m.extract = config;
  const std::string config_path = ExpConfigPath(exp_dir);
  SN_CHECK(fs::exists(config_path), "'{}' is not an experiment directory (no config.yaml)", exp_dir);
  m.config = LoadTrainConfig(config_path, {});
  m.device = ParseDevice(runtime.device);
  m.checkpoint = config.checkpoint;
  if (m.checkpoint.empty()) {
    m.checkpoint = Checkpointer(exp_dir, 1).Latest().value_or("");
    SN_CHECK(!m.checkpoint.empty(), "experiment '{}' has no checkpoint to extract with", exp_dir);
  }
  m.fbank = std::make_unique<Fbank>(m.config.features);
  m.model = CreateModel(m.config.model);
  // Strict: a checkpoint of another architecture must fail here, not extract with random weights.
  LoadStateDict(*m.model, WithoutClassifier(Checkpointer::LoadModelState(m.checkpoint)));
  m.model->to(m.device);
  m.model->eval();
  spdlog::info("extract: {} from {}", DescribeModel(m.config.model, *m.model), m.checkpoint);
}

EmbeddingExtractor::~EmbeddingExtractor() = default;

int64_t EmbeddingExtractor::dim() const { return impl_->model->EmbeddingDim(); }
int EmbeddingExtractor::sample_rate() const { return impl_->config.features.sample_rate; }
const std::string& EmbeddingExtractor::checkpoint() const { return impl_->checkpoint; }

std::vector<float> EmbeddingExtractor::Extract(const std::vector<float>& wave) const {
  auto& m = *impl_;
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(wave.size());
  SN_CHECK(n > 0, "empty waveform");
  torch::Tensor x = torch::from_blob(const_cast<float*>(wave.data()), {1, n}, torch::kFloat32)
                        .to(m.device);
  const torch::Tensor feats = (*m.fbank)(x, /*training=*/false);  // CMN over the whole utterance
  const int64_t frames = feats.size(2);
  // Utterances longer than max_frames are cut into equal pieces whose embeddings are averaged,
  // weighted by their frame counts (speaker-net's extraction rule).
  const int64_t pieces = (frames + m.extract.max_frames - 1) / m.extract.max_frames;
  const int64_t piece_len = (frames + pieces - 1) / pieces;
  torch::Tensor sum;
  for (int64_t start = 0; start < frames; start += piece_len) {
    const int64_t len = std::min(piece_len, frames - start);
    const torch::Tensor emb = m.model->forward(feats.narrow(2, start, len)).squeeze(0) * len;
    sum = sum.defined() ? sum + emb : emb;
  }
  const torch::Tensor mean = (sum / static_cast<double>(frames)).to(torch::kCPU).contiguous();
  return std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
}

void ExtractDataDir(const EmbeddingExtractor& extractor, const DataDir& data,
                    const std::string& out_dir, bool write_npy) {
  MakeDirs(out_dir);
  // The scp names the ark by an absolute path, so that it reads from any working directory.
  const std::string ark = fs::absolute(fs::path(out_dir) / "embeddings.ark").string();
  const std::string scp = (fs::path(out_dir) / "embeddings.scp").string();
  kaldi::ArkWriter writer(ark, scp);
  std::vector<float> all;
  std::string utt_list;
  ProgressMeter progress("extract", data.NumUtterances(), "utts");
  for (const auto& utt : data.utterances()) {
    std::vector<float> emb;
    try {
      emb = extractor.Extract(LoadUtteranceAudio(utt, extractor.sample_rate()));
    } catch (const std::exception& e) {
      Fail(fmt::format("extract: utterance '{}' ({}): {}", utt.id, utt.wav, e.what()));
    }
    writer.WriteVector(utt.id, emb.data(), static_cast<int64_t>(emb.size()));
    if (write_npy) {
      all.insert(all.end(), emb.begin(), emb.end());
      utt_list += utt.id + "\n";
    }
    progress.Advance();
  }
  writer.Close();
  progress.Finish();
  if (write_npy) {
    kaldi::WriteNpy((fs::path(out_dir) / "embeddings.npy").string(), all.data(),
                    {data.NumUtterances(), extractor.dim()});
    WriteTextAtomically((fs::path(out_dir) / "utts.txt").string(), utt_list);
  }
  spdlog::info("extract: wrote {} embeddings of dim {} to {}", data.NumUtterances(),
               extractor.dim(), scp);
}

}  // namespace speakernet
