#include "speakernet/training/train_config.h"

#include "speakernet/common/config.h"
#include "speakernet/common/error.h"

namespace speakernet {

void TrainerConfig::Validate() const {
  SN_CHECK(epochs > 0, "trainer.epochs must be > 0, got {}", epochs);
  SN_CHECK(report_interval_iters > 0, "trainer.report_interval_iters must be > 0");
  SN_CHECK(valid_interval_iters >= 0, "trainer.valid_interval_iters must be >= 0, got {}",
           valid_interval_iters);
  SN_CHECK(ckpt_interval_minutes >= 0, "trainer.ckpt_interval_minutes must be >= 0");
  SN_CHECK(ckpt_interval_iters >= 0, "trainer.ckpt_interval_iters must be >= 0");
  SN_CHECK(keep_periodic >= 1, "trainer.keep_periodic must be >= 1");
  SN_CHECK(max_iters >= 0, "trainer.max_iters must be >= 0");
  SN_CHECK(target_num_multiplier >= 0, "trainer.target_num_multiplier must be >= 0, got {}",
           target_num_multiplier);
  SN_CHECK(ddp_bucket_mb > 0, "trainer.ddp_bucket_mb must be > 0, got {}", ddp_bucket_mb);
  SN_CHECK(ddp_timeout_seconds > 0, "trainer.ddp_timeout_seconds must be > 0");
}

void TrainConfig::Validate() const {
  SN_CHECK(model.feat_dim == features.Dim(),
           "model.feat_dim ({}) must equal the front end's feature dimension {} ({})",
           model.feat_dim, features.Dim(), features.DescribeDim());
  SN_CHECK(loader.sample_rate == features.SampleRate(),
           "loader.sample_rate ({}) must equal the front end's sampling rate {} ({})",
           loader.sample_rate, features.SampleRate(),
           features.IsKaldi() ? "features.kaldi.samp_freq" : "features.sample_rate");
}

TrainConfig LoadTrainConfig(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = LoadYamlFile(path);
  ApplyOverrides(root, overrides);
  TrainConfig config;
  ReadConfig(root, config);
  return config;
}

}  // namespace speakernet
