// OnnxGraph for builds without libonnx-dev: every export stops with a message saying so.
#include "speakernet/common/error.h"
#include "speakernet/onnx/onnx_graph.h"

namespace speakernet {

struct OnnxGraph::Impl {};

bool OnnxAvailable() { return false; }

OnnxGraph::OnnxGraph(const std::string&) {
  Fail(
      "ONNX export is not available: speakernet was built without the ONNX library "
      "(Debian: libonnx-dev; tools/setup.sh installs it), rebuild after installing it");
}
OnnxGraph::~OnnxGraph() = default;
std::string OnnxGraph::Unique(const std::string& hint) { return hint; }
std::string OnnxGraph::Input(const std::string& name, const std::vector<OnnxDim>&) { return name; }
void OnnxGraph::Output(const std::string&, const std::string&, const std::vector<OnnxDim>&) {}
std::string OnnxGraph::Floats(const std::string& hint, const std::vector<int64_t>&,
                              const std::vector<float>&) {
  return hint;
}
std::string OnnxGraph::Ints(const std::string& hint, const std::vector<int64_t>&,
                            const std::vector<int64_t>&) {
  return hint;
}
std::string OnnxGraph::Node(const std::string&, const std::vector<std::string>&,
                            const std::string& hint, const std::vector<OnnxAttr>&) {
  return hint;
}
std::vector<std::string> OnnxGraph::NodeN(const std::string&, const std::vector<std::string>&, int,
                                          const std::string& hint, const std::vector<OnnxAttr>&) {
  return {hint};
}
void OnnxGraph::SetMetadata(const std::string&, const std::string&) {}
void OnnxGraph::SetDocString(const std::string&) {}
std::string OnnxGraph::SerializeChecked(const std::string&) const { return {}; }
int64_t OnnxGraph::NumNodes() const { return 0; }
int64_t OnnxGraph::NumInitializerValues() const { return 0; }

}  // namespace speakernet
