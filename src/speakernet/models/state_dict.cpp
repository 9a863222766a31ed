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

}  // namespace speakernet
