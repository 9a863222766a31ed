// `loss:` of the training config and the classifier loss it builds.
//   method am | aam   margin softmax (margin_softmax.h): loss.weight [classes * K, emb, 1];
//                     m, s, K, topk, topk_m, easy_margin; annealed by margin_schedule
//   method softmax    plain softmax (softmax_loss.h), speaker-net's SoftmaxLoss (its
//                     `margin_loss: False`): loss.affine.weight [classes, emb] and
//                     loss.affine.bias [classes]; label_smoothing; no margin, so
//                     margin_schedule does not apply (the logged margin is 0)
// label_smoothing is refused for am/aam, as speaker-net disables it for margin losses.
#pragma once

#include <cstdint>
#include <memory>

#include "speakernet/losses/classifier_loss.h"
#include "speakernet/losses/margin_softmax.h"
#include "speakernet/losses/softmax_loss.h"

namespace speakernet {

// The margin-softmax keys (method, m, s, K, ...) and label_smoothing, all directly under `loss:`.
struct LossConfig : MarginSoftmaxConfig {
  SoftmaxLossConfig softmax;  // label_smoothing

  template <class V>
  void Fields(V& v) {
    MarginSoftmaxConfig::Fields(v);
    softmax.Fields(v);
  }
  void Validate() const;

  bool IsSoftmax() const { return method == "softmax"; }
};

// The classifier loss for embeddings of `input_dim` and `num_targets` classes, initialised from
// the current default CPU generator.
std::shared_ptr<ClassifierLossImpl> MakeClassifierLoss(const LossConfig& config, int64_t input_dim,
                                                       int64_t num_targets);

// Its number of parameters (without building it).
int64_t ClassifierParameterCount(const LossConfig& config, int64_t input_dim, int64_t num_targets);

}  // namespace speakernet
