#include "speakernet/data/wave_augmenter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/augmentation/waveform_augment.h"
#include "speakernet/common/error.h"
#include "speakernet/data/seeded_rng.h"

namespace speakernet {

namespace fs = std::filesystem;

namespace {

enum PoolId { kNoise = 0, kBabble, kReverb, kRealReverb, kPoint, kNumPools };
const char* const kPoolKeys[kNumPools] = {"noise_sets", "babble_sets", "reverb_sets",
                                          "real_reverb_sets", "point_noise_sets"};

// Pool permutations use their own stream tag so they never coincide with a loader RNG.
constexpr int64_t kPoolStream = 11;

void CheckWeight(const char* key, double w) {
  SN_CHECK(std::isfinite(w) && w >= 0, "loader.augment.{} must be >= 0, got {}", key, w);
}

}  // namespace

void AugmentConfig::Validate() const {
  SN_CHECK(mode == "none" || mode == "chain" || mode == "random" || mode == "speed",
           "loader.augment.mode must be none, chain, random or speed, got '{}'", mode);
  CheckWeight("clean_weight", clean_weight);
  CheckWeight("noise_weight", noise_weight);
  CheckWeight("babble_weight", babble_weight);
  CheckWeight("reverb_weight", reverb_weight);
  CheckWeight("reverb_noise_weight", reverb_noise_weight);
  if (EnvEnabled()) {
    SN_CHECK(clean_weight + noise_weight + babble_weight + reverb_weight + reverb_noise_weight > 0,
             "loader.augment: all corruption weights are 0");
    const std::pair<double, const std::vector<std::string>*> need[] = {
        {noise_weight, &noise_sets},
        {babble_weight, &babble_sets},
        {reverb_weight, &reverb_sets},
        {reverb_noise_weight, &real_reverb_sets},
        {reverb_noise_weight * point_noise.prob, &point_noise_sets}};
    const char* weight_keys[] = {"noise_weight", "babble_weight", "reverb_weight",
                                 "reverb_noise_weight", "reverb_noise_weight (point_noise.prob > 0)"};
    for (int i = 0; i < kNumPools; ++i) {
      SN_CHECK(need[i].first == 0 || !need[i].second->empty(),
               "loader.augment.{} > 0 needs loader.augment.{} (set the weight to 0 to drop it)",
               weight_keys[i], kPoolKeys[i]);
    }
  }
}

int AugmentConfig::LabelMultiplier() const {
  if (!SpeedEnabled()) return 1;
  int most = 0;
  for (double s : speed.speeds) most = std::max(most, SpeedLabelOffset(s));
  return most + 1;
}

std::vector<Utterance> ListAudioSet(const std::string& path) {
  SN_CHECK(fs::exists(path), "augmentation set '{}' does not exist", path);
  std::vector<Utterance> out;
  if (fs::exists(fs::path(path) / "wav.scp")) {
    DataDir d = DataDir::Load(path);
    d.EnsureDurations();
    out = d.utterances();
  } else {
    SN_CHECK(fs::is_directory(path), "augmentation set '{}' is neither a data dir nor a folder",
             path);
    static const std::set<std::string> kExt{".wav", ".flac", ".ogg", ".mp3", ".sph"};
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (e.is_regular_file() && kExt.count(e.path().extension().string())) {
        files.push_back(e.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Utterance u;
      u.id = u.recording = u.speaker = f;
      u.wav = f;
      u.duration = ProbeAudio(f).Seconds();
      out.push_back(std::move(u));
    }
  }
  SN_CHECK(!out.empty(), "augmentation set '{}' has no audio", path);
  return out;
}

struct WaveAugmenter::Pool {
  std::vector<Utterance> utts;
  std::vector<int64_t> samples;             // per entry, at the loader rate
  std::vector<std::vector<float>> preload;  // per entry when preloaded
};

WaveAugmenter::WaveAugmenter(const AugmentConfig& config, int sample_rate)
    : config_(config), sample_rate_(sample_rate) {
  config_.Validate();
  const std::vector<std::string>* sets[kNumPools] = {
      &config_.noise_sets, &config_.babble_sets, &config_.reverb_sets, &config_.real_reverb_sets,
      &config_.point_noise_sets};
  for (int p = 0; p < kNumPools; ++p) {
    auto pool = std::make_unique<Pool>();
    if (config_.EnvEnabled()) {
      for (const auto& set : *sets[p]) {
        for (auto& u : ListAudioSet(set)) {
          const int64_t n = UtteranceSamples(u, sample_rate_);
          SN_CHECK(n > 0, "augmentation set {}: {} is empty ({})", set, u.id, u.wav);
          pool->samples.push_back(n);
          if (config_.preload) pool->preload.push_back(LoadUtteranceAudio(u, sample_rate_));
          pool->utts.push_back(std::move(u));
        }
      }
      if (!pool->utts.empty()) {
        spdlog::info("augment: {} {} signals{}", pool->utts.size(), kPoolKeys[p],
                     config_.preload ? " (preloaded)" : "");
      }
    }
    pools_.push_back(std::move(pool));
  }
}

WaveAugmenter::~WaveAugmenter() = default;

WaveAugmenter::EpochPools WaveAugmenter::ForEpoch(int64_t seed, int64_t epoch) const {
  EpochPools out;
  for (int p = 0; p < kNumPools; ++p) {
    std::vector<int64_t> perm(pools_[p]->utts.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    auto rng = MakeRng({seed, epoch, kPoolStream, p});
    for (size_t i = perm.size(); i > 1; --i) {
      std::swap(perm[i - 1], perm[UniformInt(rng, 0, static_cast<int64_t>(i) - 1)]);
    }
    out.perms.push_back(std::move(perm));
  }
  return out;
}

std::vector<float> WaveAugmenter::Whole(int pool, const EpochPools& pools, int64_t slot) const {
  const Pool& p = *pools_[pool];
  const auto& perm = pools.perms[pool];
  const int64_t entry = perm[slot % static_cast<int64_t>(perm.size())];
  if (!p.preload.empty()) return p.preload[entry];
  return LoadUtteranceAudio(p.utts[entry], sample_rate_);
}

std::vector<float> WaveAugmenter::Segment(int pool, const EpochPools& pools, int64_t slot,
                                          int64_t length, std::mt19937_64& rng) const {
  const Pool& p = *pools_[pool];
  const auto& perm = pools.perms[pool];
  const int64_t entry = perm[slot % static_cast<int64_t>(perm.size())];
  const int64_t n = p.samples[entry];
  if (!p.preload.empty()) return CropOrWrap(p.preload[entry], length, rng);
  if (n > length) {
    // The same draw CropOrWrap makes, but only the crop is decoded.
    const int64_t start = UniformInt(rng, 0, n - length);
    return LoadUtteranceAudio(p.utts[entry], sample_rate_, start, length);
  }
  return CropOrWrap(LoadUtteranceAudio(p.utts[entry], sample_rate_), length, rng);
}

AugmentDraw WaveAugmenter::Apply(std::vector<float>& x, const EpochPools& pools, int64_t position,
                                 std::mt19937_64& rng, std::optional<double> forced_speed) const {
  AugmentDraw draw;
  if (config_.SpeedEnabled()) {
    // Draw order: perturb? then which factor (speaker-net: torch.rand >= prob, random.choice).
    const bool perturb = UniformReal(rng, 0.0, 1.0) < config_.speed.prob;
    const auto& speeds = config_.speed.speeds;
    const double s = speeds[UniformInt(rng, 0, static_cast<int64_t>(speeds.size()) - 1)];
    if (perturb) draw.speed = s;
    if (forced_speed) draw.speed = *forced_speed;
    draw.label_offset = SpeedLabelOffset(draw.speed);
    if (draw.speed != 1.0) x = SpeedPerturb(x, draw.speed, sample_rate_);
  }
  if (!config_.EnvEnabled() || x.empty()) return draw;
  const double w[5] = {config_.clean_weight, config_.noise_weight, config_.babble_weight,
                       config_.reverb_weight, config_.reverb_noise_weight};
  double u = UniformReal(rng, 0.0, w[0] + w[1] + w[2] + w[3] + w[4]);
  draw.kind = 4;
  for (int k = 0; k < 5; ++k) {
    if (u < w[k]) {
      draw.kind = k;
      break;
    }
    u -= w[k];
  }
  while (w[draw.kind] == 0) --draw.kind;  // rounding at the top edge: last non-zero entry
  const auto len = static_cast<int64_t>(x.size());
  switch (draw.kind) {
    case 1:
      if (UniformReal(rng, 0.0, 1.0) < config_.noise.prob) {
        const double snr = UniformReal(rng, config_.noise.snr_low, config_.noise.snr_high);
        x = AddNoise(x, Segment(kNoise, pools, position, len, rng), snr, rng);
      }
      break;
    case 2:
      if (UniformReal(rng, 0.0, 1.0) < config_.babble.prob) {
        const int count = static_cast<int>(
            UniformInt(rng, config_.babble.speaker_count_low, config_.babble.speaker_count_high));
        const double snr = UniformReal(rng, config_.babble.snr_low, config_.babble.snr_high);
        std::vector<std::vector<float>> speech;
        for (int j = 0; j < count; ++j) {
          speech.push_back(Segment(kBabble, pools,
                                   position * config_.babble.speaker_count_high + j, len, rng));
        }
        x = AddBabble(x, speech, snr, rng);
      }
      break;
    case 3:
      if (UniformReal(rng, 0.0, 1.0) < config_.reverb.prob) {
        x = Reverberate(x, Whole(kReverb, pools, position));
      }
      break;
    case 4:
      // EnvCorrupt order: reverb, then (point-source) noise, each with its own probability.
      if (UniformReal(rng, 0.0, 1.0) < config_.reverb.prob) {
        x = Reverberate(x, Whole(kRealReverb, pools, position));
      }
      if (UniformReal(rng, 0.0, 1.0) < config_.point_noise.prob) {
        const double snr =
            UniformReal(rng, config_.point_noise.snr_low, config_.point_noise.snr_high);
        x = AddNoise(x, Segment(kPoint, pools, position, len, rng), snr, rng);
      }
      break;
    default:
      break;
  }
  return draw;
}

std::vector<float> PadOrTruncate(const std::vector<float>& x, int64_t length,
                                 std::mt19937_64& rng) {
  const auto n = static_cast<int64_t>(x.size());
  SN_CHECK(n > 0, "PadOrTruncate: empty signal");
  if (n > length) {
    const int64_t start = UniformInt(rng, 0, n - length);
    return std::vector<float>(x.begin() + start, x.begin() + start + length);
  }
  std::vector<float> out;
  out.reserve(length);
  while (static_cast<int64_t>(out.size()) + n <= length) out.insert(out.end(), x.begin(), x.end());
  const int64_t r = length - static_cast<int64_t>(out.size());
  if (r > 0) {
    const int64_t p = UniformInt(rng, 0, n - r);
    out.insert(out.end(), x.begin() + p, x.begin() + p + r);
  }
  return out;
}

}  // namespace speakernet
