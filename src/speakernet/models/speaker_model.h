// The speaker embedding network: features [B, feat_dim, frames] -> embeddings [B, emb_dim].
// The classifier (margin softmax) is not part of it; see losses/.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/models/model_config.h"

namespace speakernet {

class SpeakerModel : public torch::nn::Module {
 public:
  // feats: [B, feat_dim, frames]. Returns the "near" embeddings [B, emb_dim]: the fc2 output
  // after its (scale-free) BatchNorm. Train/eval mode follows is_training() as usual.
  virtual torch::Tensor forward(const torch::Tensor& feats) = 0;
  // What the training loss sees. The embedding for every model but the x-vector, whose loss
  // sees tdnn7 after ReLU -> BN while its embedding is tdnn7's affine output.
  virtual torch::Tensor ForwardClassifierInput(const torch::Tensor& feats) { return forward(feats); }
  virtual int64_t EmbeddingDim() const = 0;
};

// Validates `config` and builds the model it describes (initialised, training mode, on CPU).
std::shared_ptr<SpeakerModel> CreateModel(const ModelConfig& config);

// Number of parameter elements (buffers excluded), recursively.
int64_t CountParameters(const torch::nn::Module& module);


// One line for logs, e.g. "resnet (basic [3,4,6,3] x [32,64,128,256], multi_head-16, emb 256):
// 6,636,448 parameters".
std::string DescribeModel(const ModelConfig& config, const SpeakerModel& model);

}  // namespace speakernet
