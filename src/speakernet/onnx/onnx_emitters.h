// The parts of an exported graph, written by walking speakernet's own modules and front ends
// (internal to the onnx layer; onnx_export.h is the entry point).
#pragma once

#include <torch/torch.h>

#include <string>

#include "speakernet/features/front_end.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/onnx/onnx_graph.h"

namespace speakernet {

// The front end of `config` applied to `wave` ([1, samples] float, [-1, 1] like speakernet's
// audio reader): the value [1, Dim(), frames] the model sees (speakernet's FrontEnd, inference
// mode: no dither), with its per-utterance normalisation.
std::string EmitFrontEnd(OnnxGraph& g, const FrontEndConfig& config, const std::string& wave);

// `model` (eval mode: BatchNorm with running statistics) on feats [1, feat_dim, frames]: the
// embedding [1, emb_dim], what SpeakerModel::forward returns. RepVGG must be re-parameterised
// (deployed) first. Throws naming the module for a model or pooling it cannot write.
std::string EmitSpeakerModel(OnnxGraph& g, const SpeakerModel& model, const std::string& feats);

// A float32 tensor as a graph constant.
std::string EmitTensor(OnnxGraph& g, const std::string& hint, const torch::Tensor& t);

}  // namespace speakernet
