// Reads state dicts written by Python's torch.save (the zip format of PyTorch >= 1.6), including
// `torch.save(model.state_dict())`, whose top object is a collections.OrderedDict.
//
// Why not torch::pickle_load: LibTorch 1.13's unpickler turns collections.OrderedDict into None
// (it only expects it as a tensor's empty backward-hooks argument), so a state dict fails with
// "Expected GenericDict but got None"; 2.x turns it into a dict but the behaviour of the
// OrderedDict's BUILD (`_metadata`) differs between versions. This reader interprets the small
// pickle subset torch.save emits itself (protocol 2, plus the protocol-4 opcodes for safety) and
// takes only the zip container from LibTorch (caffe2::serialize::PyTorchStreamReader, whose
// getRecord API is the same in 1.13 and 2.x). No Python object is ever executed: only
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the
// torch.*Storage classes are understood; anything else is an error naming the global.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "speakernet/models/state_dict.h"

namespace speakernet {

// The (name, tensor) entries in file order, on the CPU. The top object must be a dict of
// str -> tensor; a dict holding such a dict under "state_dict" or "model" (common training
// checkpoints) is unwrapped. Throws an Error naming the file (and the key) on anything else.
StateDict ReadTorchSaveStateDict(const std::string& path);

// The named records of the torch.save archive `path` (written as TorchSaveBytes's `extra`);
// a record the archive lacks is left out. Throws an Error naming the file when it is no archive.
std::map<std::string, std::string> ReadArchiveRecords(const std::string& path,
                                                      const std::vector<std::string>& names);

}  // namespace speakernet
