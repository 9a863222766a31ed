#include "speakernet/models/sync_batch_norm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <ostream>

#include "speakernet/common/error.h"

namespace {

// torch's BatchNormImplBase::pretty_print (see the header for why it is defined here).
void PrettyPrint(std::ostream& stream, int dims, const torch::nn::BatchNormOptions& o) {
  stream << std::boolalpha << "torch::nn::BatchNorm" << dims << "d(" << o.num_features() << ", "
         << "eps=" << o.eps() << ", momentum=";
  if (o.momentum().has_value()) {
    stream << o.momentum().value();
  } else {
    stream << "None";
  }
  stream << ", affine=" << o.affine() << ", track_running_stats=" << o.track_running_stats()
         << ")";
}

}  // namespace

namespace speakernet {

namespace {

thread_local BatchNormSync* current_sync = nullptr;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Reduced-precision inputs are normalised in float (as torch's CPU/CUDA kernels accumulate).
torch::Tensor ComputeDtype(const torch::Tensor& x) {
  const auto t = x.scalar_type();
  return (t == torch::kHalf || t == torch::kBFloat16) ? x.to(torch::kFloat) : x;
}

std::vector<int64_t> ReduceDims(const torch::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// Per-channel tensor -> shape [1, C, 1, ...] broadcastable against x.
torch::Tensor Channels(const torch::Tensor& v, const torch::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = v.size(0);
  return v.view(shape);
}

// Function::apply needs defined tensor inputs, so a missing weight/bias (no affine) is passed
// as an empty placeholder.
bool Present(const torch::Tensor& t) { return t.defined() && t.numel() > 0; }

// Normalises with the given global statistics; its backward is torch's SyncBatchNorm backward
// (the gradient through mean and invstd is part of the formula, so they enter as constants).
struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  // sync_address: the BatchNormSync* as an integer (AutogradContext stores IValues), captured so
  // that the backward reaches the same hook whichever thread autograd runs it on.
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor input, torch::Tensor weight,
                               torch::Tensor bias, torch::Tensor mean, torch::Tensor invstd,
                               double count, int64_t sync_address) {
    const torch::Tensor x = ComputeDtype(input);
    torch::Tensor out = (x - Channels(mean, x)) * Channels(invstd, x);
    if (Present(weight)) out = out * Channels(weight.to(x.scalar_type()), x);
    if (Present(bias)) out = out + Channels(bias.to(x.scalar_type()), x);
    ctx->save_for_backward({input, weight, mean, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["sync"] = sync_address;
    return out.to(input.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& input = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& mean = saved[2];
    const torch::Tensor& invstd = saved[3];
    const double count = ctx->saved_data["count"].toDouble();
    auto& sync = *reinterpret_cast<BatchNormSync*>(
        static_cast<intptr_t>(ctx->saved_data["sync"].toInt()));

    const torch::Tensor x = ComputeDtype(input);
    torch::Tensor dy = grad_outputs[0];
    if (!dy.defined()) dy = torch::zeros_like(x);
    dy = dy.to(x.scalar_type());
    const auto dims = ReduceDims(x);
    const torch::Tensor xhat = (x - Channels(mean, x)) * Channels(invstd, x);
    torch::Tensor sum_dy = dy.sum(dims);
    torch::Tensor sum_dy_xhat = (dy * xhat).sum(dims);

    torch::Tensor grad_input, grad_weight, grad_bias;
    // Local sums, as torch's SyncBatchNorm: DDP's gradient averaging combines the ranks.
    if (Present(weight) && ctx->needs_input_grad(1)) {
      grad_weight = sum_dy_xhat.to(weight.scalar_type());
    }
    if (ctx->needs_input_grad(2)) grad_bias = sum_dy.to(weight.scalar_type());
    if (ctx->needs_input_grad(0)) {
      const int64_t channels = x.size(1);
      std::vector<torch::Tensor> combined{torch::cat({sum_dy, sum_dy_xhat})};
      sync.AllReduceSum(combined);
      const torch::Tensor mean_dy = combined[0].narrow(0, 0, channels) / count;
      const torch::Tensor mean_dy_xhat = combined[0].narrow(0, channels, channels) / count;
      torch::Tensor scale = invstd;
      if (Present(weight)) scale = scale * weight.to(x.scalar_type());
      grad_input = ((dy - Channels(mean_dy, x) - xhat * Channels(mean_dy_xhat, x)) *
                    Channels(scale, x))
                       .to(input.scalar_type());
    }
    return {grad_input,      grad_weight,     grad_bias,      torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

BatchNormSync* CurrentBatchNormSync() { return current_sync; }

BatchNormSync* SetBatchNormSync(BatchNormSync* sync) {
  BatchNormSync* previous = current_sync;
  current_sync = sync;
  return previous;
}

torch::Tensor SyncBatchNormTrain(const torch::Tensor& input, const torch::Tensor& weight,
                                 const torch::Tensor& bias, const torch::Tensor& running_mean,
                                 const torch::Tensor& running_var, double momentum, double eps,
                                 BatchNormSync& sync) {
  SN_CHECK(input.dim() >= 2, "SyncBatchNorm: expected input (N, C, *), got {} dims", input.dim());
  torch::Tensor mean, invstd;
  double count = 0;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor x = ComputeDtype(input.detach());
    const int64_t channels = x.size(1);
    const double local_count = static_cast<double>(x.numel() / channels);
    // Local statistics by torch's (stable) var_mean, turned into sums in double so that the
    // global E[x^2] - E[x]^2 does not cancel catastrophically; an empty shard adds zeros.
    torch::Tensor sum, sumsq;
    if (local_count > 0) {
      auto [var, m] = torch::var_mean(x, ReduceDims(x), /*unbiased=*/false, /*keepdim=*/false);
      const torch::Tensor md = m.to(torch::kDouble);
      sum = md * local_count;
      sumsq = (var.to(torch::kDouble) + md * md) * local_count;
    } else {
      sum = torch::zeros({channels}, x.options().dtype(torch::kDouble));
      sumsq = torch::zeros_like(sum);
    }
    std::vector<torch::Tensor> stats{
        torch::cat({sum, sumsq, torch::full({1}, local_count, sum.options())})};
    sync.AllReduceSum(stats);
    const torch::Tensor& all = stats[0];
    count = all[2 * channels].item<double>();
    SN_CHECK(count > 1, "SyncBatchNorm: expected more than 1 value per channel over all ranks "
             "in training, got {}", count);
    const torch::Tensor gmean = all.narrow(0, 0, channels) / count;
    const torch::Tensor gvar =
        (all.narrow(0, channels, channels) / count - gmean * gmean).clamp_min(0);
    if (running_mean.defined() && running_var.defined()) {
      // torch's batch_norm_gather_stats_with_counts: unbiased variance over the global count.
      running_mean.mul_(1 - momentum).add_(gmean.to(running_mean.scalar_type()), momentum);
      running_var.mul_(1 - momentum)
          .add_((gvar * (count / (count - 1))).to(running_var.scalar_type()), momentum);
    }
    mean = gmean.to(x.scalar_type());
    invstd = (gvar + eps).rsqrt().to(x.scalar_type());
  }
  const torch::Tensor none = torch::empty({0}, input.options());
  return SyncBatchNormFunction::apply(input, weight.defined() ? weight : none,
                                      bias.defined() ? bias : none, mean, invstd, count,
                                      static_cast<int64_t>(reinterpret_cast<intptr_t>(&sync)));
}

template <size_t D>
SyncBatchNormImpl<D>::SyncBatchNormImpl(const torch::nn::BatchNormOptions& options)
    : options(options) {
  reset();
}

template <size_t D>
void SyncBatchNormImpl<D>::reset() {
  if (options.affine()) {
    weight = this->register_parameter("weight", torch::empty({options.num_features()}));
    bias = this->register_parameter("bias", torch::empty({options.num_features()}));
  } else {
    weight = this->register_parameter("weight", torch::Tensor(), /*requires_grad=*/false);
    bias = this->register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  if (options.track_running_stats()) {
    running_mean = this->register_buffer("running_mean", torch::zeros({options.num_features()}));
    running_var = this->register_buffer("running_var", torch::ones({options.num_features()}));
    num_batches_tracked =
        this->register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  } else {
    running_mean = this->register_buffer("running_mean", torch::Tensor());
    running_var = this->register_buffer("running_var", torch::Tensor());
    num_batches_tracked = this->register_buffer("num_batches_tracked", torch::Tensor());
  }
  reset_parameters();
}

template <size_t D>
void SyncBatchNormImpl<D>::reset_parameters() {
  torch::NoGradGuard no_grad;
  if (options.track_running_stats()) {
    running_mean.zero_();
    running_var.fill_(1);
    num_batches_tracked.zero_();
  }
  if (options.affine()) {
    weight.fill_(1);
    bias.zero_();
  }
}

template <size_t D>
void SyncBatchNormImpl<D>::pretty_print(std::ostream& stream) const {
  PrettyPrint(stream, static_cast<int>(D), options);
}

template <size_t D>
torch::Tensor SyncBatchNormImpl<D>::forward(const torch::Tensor& input) {
  if (D == 1) {
    SN_CHECK(input.dim() == 2 || input.dim() == 3,
             "BatchNorm1d: expected 2D or 3D input (got {}D input)", input.dim());
  } else {
    SN_CHECK(input.dim() == 4, "BatchNorm2d: expected 4D input (got {}D input)", input.dim());
  }
  // Momentum and num_batches_tracked exactly as torch's BatchNormImplBase::forward.
  double momentum = options.momentum().value_or(0.0);
  if (this->is_training() && options.track_running_stats() && num_batches_tracked.defined()) {
    num_batches_tracked += 1;
    if (!options.momentum().has_value()) {  // cumulative moving average
      momentum = 1.0 / num_batches_tracked.template item<double>();
    }
  }
  BatchNormSync* sync = CurrentBatchNormSync();
  if (sync != nullptr && this->is_training()) {
    return SyncBatchNormTrain(input, weight, bias, running_mean, running_var, momentum,
                              options.eps(), *sync);
  }
  const bool batch_stats = this->is_training() || !options.track_running_stats();
  if (batch_stats) {
    SN_CHECK(input.numel() / input.size(1) != 1,
             "BatchNorm: expected more than 1 value per channel when training, got input size "
             "[{}]", fmt::join(input.sizes(), ", "));
  }
  return torch::batch_norm(input, weight, bias, running_mean, running_var, batch_stats, momentum,
                           options.eps(), at::globalContext().userEnabledCuDNN());
}

template class SyncBatchNormImpl<1>;
template class SyncBatchNormImpl<2>;

}  // namespace speakernet
