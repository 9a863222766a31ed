// Writes state dicts in the format of Python's `torch.save(module.state_dict())`: the zip
// container (caffe2::serialize::PyTorchStreamWriter) holding a protocol-2 pickle of a
// collections.OrderedDict whose tensors are rebuilt by torch._utils._rebuild_tensor_v2 from
// `torch.<Type>Storage` records.
//
// Why not torch::pickle_save: it tags the dict with torch.jit._pickle.restore_type_tag, a global
// that `torch.load` refuses under weights_only=True, which is the default since PyTorch 2.6, so
// users would need weights_only=False (arbitrary code execution) to read our checkpoints. The
// pickle written here uses only the globals weights_only allows, the same ones Python writes.
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "speakernet/models/state_dict.h"

namespace speakernet {

// `torch.<Type>Storage` class names and their dtypes (torch.FloatStorage <-> kFloat, ...),
// shared by the reader and the writer.
const std::vector<std::pair<std::string, torch::ScalarType>>& TorchStorageTypes();

// Extra archive records (name, bytes), stored beside the pickle; torch.load ignores them.
using ArchiveRecords = std::vector<std::pair<std::string, std::string>>;

// The bytes of `torch.save(OrderedDict(state))`: each tensor is stored contiguous, on the CPU,
// in its own storage; names keep their order. A dtype without a storage class is an error.
// `extra` records (names must not start with "data") are written after the tensors.
std::string TorchSaveBytes(const StateDict& state, const ArchiveRecords& extra = {});

}  // namespace speakernet
