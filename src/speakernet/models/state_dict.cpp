#include "speakernet/models/state_dict.h"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/models/torch_save_reader.h"
#include "speakernet/models/torch_save_writer.h"

namespace speakernet {

namespace {

void Collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  // Undefined tensors stand for absent parameters (e.g. BatchNorm without affine).
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    Collect(*child.value(), prefix + child.key() + ".", out);
  }
}

std::string ShapeString(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

}  // namespace

StateDict GetStateDict(const torch::nn::Module& module, const std::string& prefix) {
  StateDict out;
  Collect(module, prefix, out);
  return out;
}

void LoadStateDict(torch::nn::Module& module, const StateDict& state, const std::string& prefix,
                   bool strict) {
  std::map<std::string, torch::Tensor> given;
  for (const auto& [name, tensor] : state) {
    if (name.rfind(prefix, 0) == 0) given[name.substr(prefix.size())] = tensor;
  }
  std::vector<std::string> problems;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : GetStateDict(module)) {
    auto it = given.find(name);
    if (it == given.end()) {
      if (strict) problems.push_back("missing key '" + prefix + name + "'");
      continue;
    }
    used.insert(name);
    if (!target.sizes().equals(it->second.sizes())) {
      problems.push_back("key '" + prefix + name + "' has shape " + ShapeString(it->second) +
                         ", the model expects " + ShapeString(target));
      continue;
    }
    target.copy_(it->second.to(target.dtype()));
  }
  if (strict) {
    for (const auto& [name, tensor] : given) {
      if (!used.count(name)) problems.push_back("unexpected key '" + prefix + name + "'");
    }
  }
  if (!problems.empty()) {
    std::string msg = "state dict does not match the model:";
    for (const auto& p : problems) msg += "\n  " + p;
    Fail(msg);
  }
}

void SaveStateDictFile(const std::string& path, const StateDict& state) {
  WriteTextAtomically(path, TorchSaveBytes(state));
}

StateDict LoadStateDictFile(const std::string& path) {
  SN_CHECK(std::filesystem::is_regular_file(path), "cannot open state dict '{}'", path);
  try {
    return ReadTorchSaveStateDict(path);
  } catch (const Error& torch_save_error) {
    // Checkpoints written before TorchSaveBytes (torch::pickle_save, with restore_type_tag).
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue value;
    try {
      value = torch::pickle_load(bytes);
    } catch (const std::exception&) {
      throw torch_save_error;
    }
    SN_CHECK(value.isGenericDict(), "'{}' does not hold a dict of tensors", path);
    StateDict out;
    for (const auto& item : value.toGenericDict()) {
      SN_CHECK(item.key().isString() && item.value().isTensor(),
               "'{}' holds a non-tensor entry; expected a dict of name -> tensor", path);
      out.emplace_back(item.key().toStringRef(), item.value().toTensor());
    }
    return out;
  }
}

StateDict AverageStateDicts(const std::vector<StateDict>& states,
                            const std::vector<std::string>& names) {
  SN_CHECK(!states.empty() && states.size() == names.size(),
           "AverageStateDicts: {} state dicts and {} names", states.size(), names.size());
  const StateDict& first = states.front();
  StateDict sum;
  sum.reserve(first.size());
  for (const auto& [key, value] : first) {
    const bool integer = c10::isIntegralType(value.scalar_type(), /*includeBool=*/false);
    SN_CHECK(value.is_floating_point() || integer,
             "{}: '{}' is {}; only floating and integer tensors can be averaged", names[0], key,
             c10::toString(value.scalar_type()));
    sum.emplace_back(key, value.clone());
  }
  for (size_t i = 1; i < states.size(); ++i) {
    const StateDict& other = states[i];
    SN_CHECK(other.size() == first.size(), "{} has {} entries but {} has {}", names[i],
             other.size(), names[0], first.size());
    for (size_t k = 0; k < first.size(); ++k) {
      const auto& [key, value] = other[k];
      const torch::Tensor& ref = sum[k].second;
      SN_CHECK(key == sum[k].first, "{}: entry {} is '{}' but {} has '{}' there", names[i], k, key,
               names[0], sum[k].first);
      SN_CHECK(value.sizes() == ref.sizes() && value.scalar_type() == ref.scalar_type(),
               "{}: '{}' is {} {} but {} has {} {}", names[i], key,
               c10::toString(value.scalar_type()), ShapeString(value), names[0],
               c10::toString(ref.scalar_type()), ShapeString(ref));
      sum[k].second.add_(value);
    }
  }
  const auto n = static_cast<int64_t>(states.size());
  for (auto& [key, value] : sum) {
    value = value.is_floating_point() ? value.div(static_cast<double>(n))
                                      : value.div(n, "floor");
  }
  return sum;
}

}  // namespace speakernet
