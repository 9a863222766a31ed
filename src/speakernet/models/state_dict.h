// State dicts: ordered (name, tensor) lists with PyTorch's naming and order (a module's own
// parameters, then its own buffers, then its children), stored as Python's torch.save stores an
// OrderedDict state dict (torch_save_writer.h), so that torch.load() reads them, also under
// weights_only=True.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace speakernet {

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

StateDict GetStateDict(const torch::nn::Module& module, const std::string& prefix = "");

// Copies values into the module's parameters and buffers (keeping their device). Every error
// (missing, unexpected or mis-shaped key) is collected and reported together, by name.
// Keys outside `prefix` are ignored; with strict=false missing/unexpected keys are allowed.
void LoadStateDict(torch::nn::Module& module, const StateDict& state, const std::string& prefix = "",
                   bool strict = true);

// Written atomically (temporary file + rename).
void SaveStateDictFile(const std::string& path, const StateDict& state);
// Reads torch.save files (ours, Python's) and, for checkpoints written by earlier speakernet
// versions, torch::pickle_save files.
StateDict LoadStateDictFile(const std::string& path);

// The mean of state dicts with the same names, shapes and dtypes, in the first one's order
// (speaker-net's average_state_dicts, training/checkpointer.py): floating tensors are summed in
// their own dtype in list order and divided by the count, as speaker-net does. Integer tensors
// (BatchNorm's num_batches_tracked) keep their dtype and get the floor of the mean, the value
// speaker-net's float mean takes once loaded into the int64 buffer; they only matter to a
// BatchNorm without momentum, which no model here has. `names[i]` names input i in errors.
StateDict AverageStateDicts(const std::vector<StateDict>& states,
                            const std::vector<std::string>& names);

}  // namespace speakernet
