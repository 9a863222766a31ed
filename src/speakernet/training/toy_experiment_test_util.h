// Test-only: a separable toy data dir (3 "speakers", each a harmonic tone plus noise) and a tiny
// training config, shared by the training and extraction tests.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/test_util.h"
#include "speakernet/training/train_config.h"

namespace speakernet::test {

inline std::vector<float> ToyWave(int speaker, int utt, int64_t samples, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.02f);
  const double f0[3] = {140.0, 220.0, 330.0};
  std::vector<float> x(static_cast<size_t>(samples));
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = static_cast<double>(i) / 16000.0;
    x[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * f0[speaker] * (1 + 0.01 * utt) * t) +
                              0.1 * std::sin(2 * M_PI * 3 * f0[speaker] * t)) +
           noise(rng);
  }
  return x;
}

// 3 speakers x 4 utterances of 1.5 s (151 frames) in dir/data; returns the data dir.
inline std::string MakeToyData(const ScratchDir& dir) {
  const std::string data = dir / "data";
  std::filesystem::create_directories(data);
  std::ofstream wav_scp(data + "/wav.scp"), utt2spk(data + "/utt2spk");
  for (int s = 0; s < 3; ++s) {
    for (int u = 0; u < 4; ++u) {
      const std::string id = "spk" + std::to_string(s) + "-u" + std::to_string(u);
      const std::string path = dir / (id + ".wav");
      WriteWav(path, ToyWave(s, u, 24000, static_cast<uint32_t>(7 + 10 * s + u)), 16000);
      wav_scp << id << " " << path << "\n";
      utt2spk << id << " spk" << s << "\n";
    }
  }
  return data;
}

// A tiny ResNet (a few thousand parameters) that trains on the toy data in about a second.
inline TrainConfig TinyTrainConfig() {
  TrainConfig c;
  c.runtime.threads = 1;
  c.loader.batch_size = 4;
  c.loader.chunk_seconds = 0.5;
  c.loader.num_workers = 2;
  c.model.resnet.layers = {1, 1, 1, 1};
  c.model.resnet.planes = {4, 8, 8, 8};
  c.model.pooling.num_head = 2;
  c.model.emb_dim = 16;
  c.loss.s = 10;
  c.margin_schedule.enabled = false;
  c.optimizer.lr = 0.05;
  c.lr_schedule.warmup_epoch = "0.3";
  c.lr_schedule.milestones = {1};
  c.trainer.epochs = 2;
  c.trainer.report_interval_iters = 4;
  c.trainer.ckpt_interval_minutes = 0;
  return c;
}

}  // namespace speakernet::test
