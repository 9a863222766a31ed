#include "speakernet/losses/margin_softmax.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "speakernet/common/error.h"

namespace speakernet {

namespace F = torch::nn::functional;

void MarginSoftmaxConfig::Validate() const {
  SN_CHECK(method == "am" || method == "aam", "loss.method must be am or aam, got '{}'",
           method);
  SN_CHECK(m >= 0, "loss.m must be >= 0, got {}", m);
  SN_CHECK(method != "aam" || m < M_PI, "loss.m must be < pi for aam, got {}", m);
  SN_CHECK(s > 0, "loss.s must be > 0, got {}", s);
  SN_CHECK(K >= 1, "loss.K must be >= 1, got {}", K);
  SN_CHECK(topk >= 0, "loss.topk must be >= 0, got {}", topk);
  SN_CHECK(topk_m >= 0, "loss.topk_m must be >= 0, got {}", topk_m);
}

MarginSoftmaxImpl::MarginSoftmaxImpl(int64_t input_dim, int64_t num_targets,
                                     const MarginSoftmaxConfig& config)
    : config_(config), input_dim_(input_dim), num_targets_(num_targets) {
  config_.Validate();
  SN_CHECK(input_dim > 0, "MarginSoftmax: input_dim must be > 0, got {}", input_dim);
  SN_CHECK(num_targets > 1, "MarginSoftmax: num_targets must be > 1, got {}", num_targets);
  weight = register_parameter("weight", torch::empty({num_targets * config_.K, input_dim, 1}));
  {
    torch::NoGradGuard no_grad;
    weight.normal_(0.0, 0.01);
  }
  const double n = static_cast<double>(num_targets);
  const double s_min = (n - 1) / n * std::log((n - 1) * 0.9 / 0.1);
  if (config_.s < s_min) {
    spdlog::warn(
        "loss.s = {} is below {:.2f}, the smallest scale that lets {} classes "
        "reach a posterior of 0.9",
        config_.s, s_min, num_targets);
  }
}

void MarginSoftmaxImpl::SetLambda(double lambda) {
  SN_CHECK(lambda >= 0, "margin annealing lambda must be >= 0, got {}", lambda);
  lambda_ = lambda;
}

MarginSoftmaxImpl::Output MarginSoftmaxImpl::forward(const torch::Tensor& emb,
                                                     const torch::Tensor& labels) {
  SN_CHECK(emb.dim() == 2 && emb.size(1) == input_dim_,
           "MarginSoftmax: expected embeddings [B, {}], got {}", input_dim_, c10::str(emb.sizes()));
  SN_CHECK(labels.dim() == 1 && labels.size(0) == emb.size(0),
           "MarginSoftmax: expected labels [{}], got {}", emb.size(0), c10::str(labels.sizes()));
  // fp32 throughout, whatever autocast says.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const auto y = labels.to(torch::kLong);
  const int64_t batch = emb.size(0);

  const auto x = F::normalize(emb.to(torch::kFloat), F::NormalizeFuncOptions().dim(1));
  const auto w =
      F::normalize(weight.to(torch::kFloat).squeeze(2), F::NormalizeFuncOptions().dim(1));
  auto cos = x.matmul(w.t());  // [B, num_targets * K]
  if (config_.K > 1) cos = std::get<0>(cos.view({batch, num_targets_, config_.K}).max(2));

  Output out;
  out.logits = cos * config_.s;
  if (!is_training()) {
    out.loss = F::cross_entropy(out.logits, y);
    return out;
  }

  const double keep = 1.0 / (1.0 + lambda_);        // weight of the margin-applied value
  const double anneal = lambda_ / (1.0 + lambda_);  // weight of the plain cosine
  const auto y_col = y.unsqueeze(1);
  const auto c = cos.gather(1, y_col);  // [B, 1]

  torch::Tensor phi;
  if (config_.method == "am") {
    phi = c - config_.m;
  } else {
    const double cos_m = std::cos(config_.m), sin_m = std::sin(config_.m);
    const auto sine = (1.0 - c * c).clamp(0.0, 1.0).sqrt();
    phi = c * cos_m - sine * sin_m;
    if (config_.easy_margin) {
      phi = torch::where(c > 0, phi, c);
    } else {
      const double th = std::cos(M_PI - config_.m);
      const double mmm = 1.0 + std::cos(M_PI - config_.m);
      phi = torch::where(c > th, phi, c - mmm);
    }
  }
  phi = phi * keep + c * anneal;

  auto z = cos;
  const int64_t k = std::min(config_.topk, num_targets_ - 1);
  if (config_.topk_m > 0 && k > 0) {
    // The target is pushed out of the ranking by subtracting 2 at its position.
    torch::Tensor ranked;
    {
      torch::NoGradGuard no_grad;
      ranked = cos - torch::zeros_like(cos).scatter_(1, y_col, 2.0);
    }
    const auto idx = std::get<1>(ranked.topk(k, /*dim=*/1));
    const auto cj = cos.gather(1, idx);
    torch::Tensor pen;
    if (config_.method == "am") {
      pen = cj + config_.topk_m;
    } else {
      const auto sine = (1.0 - cj * cj).clamp(0.0, 1.0).sqrt();
      pen = cj * std::cos(config_.topk_m) + sine * std::sin(config_.topk_m);
    }
    pen = pen * keep + cj * anneal;
    z = z.scatter(1, idx, pen);
  }
  z = z.scatter(1, y_col, phi);
  out.loss = F::cross_entropy(z * config_.s, y);  // temperature t = 1
  return out;
}

}  // namespace speakernet
