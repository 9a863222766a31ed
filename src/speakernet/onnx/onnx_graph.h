// A small builder for ONNX models (onnx::ModelProto from Debian's libonnx-dev), so that the
// exporters write graphs op by op without touching protobuf: values are named strings, every
// Node() returns its output's name, and names are made unique from readable hints ("layer1.conv",
// "stats.mean"). Standard library only in this header: the protobuf types stay in the .cpp.
//
// Opset 13 (the default domain): Softmax over one axis, ReduceSum with axes as an input,
// ReduceMean with axes as an attribute, Split/Unsqueeze/Squeeze with inputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace speakernet {

inline constexpr int64_t kOnnxOpset = 13;

// False when speakernet was built without the ONNX library (libonnx-dev): every OnnxGraph then
// throws an Error saying so.
bool OnnxAvailable();

// One node attribute: int, float, ints, floats or string.
struct OnnxAttr {
  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::vector<float>, std::string> value;
};

// A graph input/output dimension: a fixed size, or a symbolic name ("samples", "frames").
struct OnnxDim {
  OnnxDim(int64_t size) : size(size) {}            // NOLINT: implicit by design
  OnnxDim(const char* symbol) : symbol(symbol) {}  // NOLINT
  int64_t size = -1;
  std::string symbol;
};

class OnnxGraph {
 public:
  explicit OnnxGraph(const std::string& graph_name);
  ~OnnxGraph();
  OnnxGraph(const OnnxGraph&) = delete;
  OnnxGraph& operator=(const OnnxGraph&) = delete;

  // A float32 graph input / output.
  std::string Input(const std::string& name, const std::vector<OnnxDim>& dims);
  void Output(const std::string& value, const std::string& name, const std::vector<OnnxDim>& dims);

  // Constants (initializers). dims may be empty for a scalar.
  std::string Floats(const std::string& hint, const std::vector<int64_t>& dims,
                     const std::vector<float>& values);
  std::string Ints(const std::string& hint, const std::vector<int64_t>& dims,
                   const std::vector<int64_t>& values);
  std::string Scalar(const std::string& hint, float value) { return Floats(hint, {}, {value}); }
  std::string IntScalar(const std::string& hint, int64_t v) { return Ints(hint, {}, {v}); }
  std::string IntList(const std::string& hint, const std::vector<int64_t>& values) {
    return Ints(hint, {static_cast<int64_t>(values.size())}, values);
  }

  // A node with one output (returned) or several.
  std::string Node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::string& hint, const std::vector<OnnxAttr>& attrs = {});
  std::vector<std::string> NodeN(const std::string& op, const std::vector<std::string>& inputs,
                                 int num_outputs, const std::string& hint,
                                 const std::vector<OnnxAttr>& attrs = {});

  // metadata_props of the model (key -> value), e.g. what sherpa-onnx reads.
  void SetMetadata(const std::string& key, const std::string& value);
  void SetDocString(const std::string& doc);

  // The serialized model after onnx::checker::check_model and strict shape inference; an Error
  // carrying the checker's message otherwise.
  std::string SerializeChecked(const std::string& producer_version) const;

  int64_t NumNodes() const;
  int64_t NumInitializerValues() const;

 private:
  std::string Unique(const std::string& hint);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::map<std::string, int> used_;
};

}  // namespace speakernet
