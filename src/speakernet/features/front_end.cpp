#include "speakernet/features/front_end.h"

#include <fmt/format.h>

#include "speakernet/common/error.h"

namespace speakernet {

void FrontEndConfig::Validate() const {
  SN_CHECK(type == "fbank" || type == "kaldi_fbank",
           "features.type must be fbank or kaldi_fbank, got '{}'", type);
  if (IsKaldi()) {
    kaldi.Validate();
  } else {
    fbank.Validate();
  }
}

int FrontEndConfig::SampleRate() const { return IsKaldi() ? kaldi.samp_freq : fbank.sample_rate; }

int FrontEndConfig::Dim() const {
  return IsKaldi() ? kaldi.num_bins + (kaldi.use_energy ? 1 : 0) : fbank.num_bins;
}

std::string FrontEndConfig::DescribeDim() const {
  if (!IsKaldi()) return fmt::format("fbank: features.num_bins {}", fbank.num_bins);
  return fmt::format("kaldi_fbank: features.kaldi.num_bins {}{}", kaldi.num_bins,
                     kaldi.use_energy ? " + 1 log energy (features.kaldi.use_energy)" : "");
}

FrontEnd::FrontEnd(const FrontEndConfig& config) : config_(config) {
  config_.Validate();
  if (config_.IsKaldi()) {
    kaldi_fbank_ = std::make_shared<const KaldiFbank>(config_.kaldi);
  } else {
    fbank_ = std::make_shared<const Fbank>(config_.fbank);
  }
}

torch::Tensor FrontEnd::operator()(const torch::Tensor& waves, bool training) const {
  return kaldi_fbank_ ? (*kaldi_fbank_)(waves, training) : (*fbank_)(waves, training);
}

int64_t FrontEnd::NumFrames(int64_t num_samples) const {
  return kaldi_fbank_ ? kaldi_fbank_->NumFrames(num_samples) : fbank_->NumFrames(num_samples);
}

double FrontEnd::FrameCenter(int64_t t) const {
  const auto ft = static_cast<double>(t);
  if (fbank_) return ft * config_.fbank.HopLength();
  const KaldiFbankOptions& k = config_.kaldi;
  const double shift = k.WindowShift();
  return k.snip_edges ? ft * shift + k.WindowSize() / 2.0 : ft * shift + shift / 2.0;
}

}  // namespace speakernet
