#include "speakernet/models/mac_count.h"

#include <ATen/record_function.h>

#include <cstring>
#include <memory>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

thread_local int64_t tls_macs = 0;
thread_local int tls_depth = 0;  // counted ops currently open (conv calls mkldnn/mm inside)

bool IsCounted(const char* name) {
  // mkldnn_convolution: the 1x1 convolutions speakernet sends to oneDNN itself
  // (conv1d_bn_layer.h); inside aten::convolution it is nested and not counted twice.
  static const char* const kNames[] = {"aten::convolution", "aten::mkldnn_convolution",
                                       "aten::linear",      "aten::matmul",
                                       "aten::mm",          "aten::addmm",
                                       "aten::bmm"};
  for (const char* n : kNames) {
    if (std::strcmp(name, n) == 0) return true;
  }
  return false;
}

struct Outer : at::ObserverContext {
  bool outermost = false;
};

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
  if (!IsCounted(fn.name())) return nullptr;
  auto ctx = std::make_unique<Outer>();
  ctx->outermost = tls_depth == 0;
  ++tls_depth;
  return ctx;
}

void OnEnd(const at::RecordFunction& fn, at::ObserverContext* ctx_base) {
  if (ctx_base == nullptr) return;
  --tls_depth;
  if (!static_cast<Outer*>(ctx_base)->outermost) return;
  const auto inputs = fn.inputs();
  const auto& outputs = fn.outputs();
  if (outputs.empty() || !outputs[0].isTensor()) return;
  const int64_t out_numel = outputs[0].toTensor().numel();
  const std::string name = fn.name();
  if (name == "aten::convolution" || name == "aten::mkldnn_convolution") {
    const auto weight = inputs[1].toTensor();  // [Cout, Cin/groups, k...]
    tls_macs += out_numel * (weight.numel() / weight.size(0));
  } else if (name == "aten::linear") {
    tls_macs += out_numel * inputs[1].toTensor().size(1);  // weight [out, in]
  } else if (name == "aten::addmm") {
    tls_macs += out_numel * inputs[1].toTensor().size(-1);  // (bias, a, b)
  } else {                                                  // matmul, mm, bmm: (a, b)
    tls_macs += out_numel * inputs[0].toTensor().size(-1);
  }
}

}  // namespace

int64_t CountForwardMacs(SpeakerModel& model, int64_t feat_dim, int64_t frames) {
  SN_CHECK(feat_dim > 0 && frames > 0, "CountForwardMacs: feat_dim {} and frames {} must be > 0",
           feat_dim, frames);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  at::RecordFunctionGuard enable(true);
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&OnStart, &OnEnd).needsInputs(true).needsOutputs(true));
  tls_macs = 0;
  tls_depth = 0;
  try {
    const auto options = model.parameters().empty()
                             ? torch::TensorOptions()
                             : torch::TensorOptions().device(model.parameters()[0].device());
    model.forward(torch::randn({1, feat_dim, frames}, options));
  } catch (...) {
    at::removeCallback(handle);
    model.train(was_training);
    throw;
  }
  at::removeCallback(handle);
  model.train(was_training);
  return tls_macs;
}

}  // namespace speakernet
