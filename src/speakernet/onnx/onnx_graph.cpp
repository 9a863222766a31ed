#include "speakernet/onnx/onnx_graph.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>

#include "speakernet/common/error.h"

namespace speakernet {

bool OnnxAvailable() { return true; }

struct OnnxGraph::Impl {
  onnx::ModelProto model;
  onnx::GraphProto* graph = nullptr;
};

OnnxGraph::OnnxGraph(const std::string& graph_name) : impl_(std::make_unique<Impl>()) {
  auto& m = impl_->model;
  m.set_ir_version(onnx::IR_VERSION);  // 8 in ONNX 1.12; read by every runtime since 2021
  m.set_producer_name("speakernet");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  impl_->graph = m.mutable_graph();
  impl_->graph->set_name(graph_name);
}

OnnxGraph::~OnnxGraph() = default;

std::string OnnxGraph::Unique(const std::string& hint) {
  const int n = used_[hint]++;
  return n == 0 ? hint : hint + "_" + std::to_string(n);
}

namespace {

void SetType(onnx::ValueInfoProto* info, const std::vector<OnnxDim>& dims) {
  auto* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  for (const OnnxDim& d : dims) {
    auto* dim = shape->add_dim();
    if (d.symbol.empty()) {
      dim->set_dim_value(d.size);
    } else {
      dim->set_dim_param(d.symbol);
    }
  }
}

int64_t NumElements(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace

std::string OnnxGraph::Input(const std::string& name, const std::vector<OnnxDim>& dims) {
  const std::string unique = Unique(name);
  SN_CHECK(unique == name, "ONNX graph: input name '{}' used twice", name);
  SetType(impl_->graph->add_input(), dims);
  impl_->graph->mutable_input()->rbegin()->set_name(name);
  return name;
}

void OnnxGraph::Output(const std::string& value, const std::string& name,
                       const std::vector<OnnxDim>& dims) {
  std::string out = value;
  if (value != name) {
    SN_CHECK(Unique(name) == name, "ONNX graph: output name '{}' is taken", name);
    auto* node = impl_->graph->add_node();
    node->set_op_type("Identity");
    node->set_name(name);
    node->add_input(value);
    node->add_output(name);
  }
  auto* info = impl_->graph->add_output();
  info->set_name(name);
  SetType(info, dims);
}

std::string OnnxGraph::Floats(const std::string& hint, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
  SN_CHECK(NumElements(dims) == static_cast<int64_t>(values.size()),
           "ONNX graph: constant '{}' has {} values for {} elements", hint, values.size(),
           NumElements(dims));
  const std::string name = Unique(hint);
  auto* t = impl_->graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return name;
}

std::string OnnxGraph::Ints(const std::string& hint, const std::vector<int64_t>& dims,
                            const std::vector<int64_t>& values) {
  SN_CHECK(NumElements(dims) == static_cast<int64_t>(values.size()),
           "ONNX graph: constant '{}' has {} values for {} elements", hint, values.size(),
           NumElements(dims));
  const std::string name = Unique(hint);
  auto* t = impl_->graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return name;
}

std::vector<std::string> OnnxGraph::NodeN(const std::string& op,
                                          const std::vector<std::string>& inputs, int num_outputs,
                                          const std::string& hint,
                                          const std::vector<OnnxAttr>& attrs) {
  auto* node = impl_->graph->add_node();
  node->set_op_type(op);
  const std::string base = Unique(hint);
  node->set_name(base);
  for (const auto& in : inputs) node->add_input(in);
  std::vector<std::string> outputs;
  for (int i = 0; i < num_outputs; ++i) {
    outputs.push_back(num_outputs == 1 ? base : Unique(base + ":" + std::to_string(i)));
    node->add_output(outputs.back());
  }
  for (const OnnxAttr& a : attrs) {
    auto* attr = node->add_attribute();
    attr->set_name(a.name);
    if (const auto* i = std::get_if<int64_t>(&a.value)) {
      attr->set_type(onnx::AttributeProto::INT);
      attr->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&a.value)) {
      attr->set_type(onnx::AttributeProto::FLOAT);
      attr->set_f(*f);
    } else if (const auto* is = std::get_if<std::vector<int64_t>>(&a.value)) {
      attr->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : *is) attr->add_ints(v);
    } else if (const auto* fs = std::get_if<std::vector<float>>(&a.value)) {
      attr->set_type(onnx::AttributeProto::FLOATS);
      for (float v : *fs) attr->add_floats(v);
    } else {
      attr->set_type(onnx::AttributeProto::STRING);
      attr->set_s(std::get<std::string>(a.value));
    }
  }
  return outputs;
}

std::string OnnxGraph::Node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::string& hint, const std::vector<OnnxAttr>& attrs) {
  return NodeN(op, inputs, 1, hint, attrs)[0];
}

void OnnxGraph::SetMetadata(const std::string& key, const std::string& value) {
  auto* prop = impl_->model.add_metadata_props();
  prop->set_key(key);
  prop->set_value(value);
}

void OnnxGraph::SetDocString(const std::string& doc) { impl_->model.set_doc_string(doc); }

int64_t OnnxGraph::NumNodes() const { return impl_->graph->node_size(); }

int64_t OnnxGraph::NumInitializerValues() const {
  int64_t n = 0;
  for (const auto& t : impl_->graph->initializer()) {
    int64_t e = 1;
    for (int64_t d : t.dims()) e *= d;
    n += e;
  }
  return n;
}

std::string OnnxGraph::SerializeChecked(const std::string& producer_version) const {
  onnx::ModelProto model = impl_->model;
  model.set_producer_version(producer_version);
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::ShapeInferenceOptions options;
    options.check_type = true;
    options.error_mode = 1;  // shape and type errors are errors
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    Fail(std::string("ONNX checker rejected the exported graph (a bug in the exporter): ") +
         e.what());
  }
  std::string bytes;
  SN_CHECK(model.SerializeToString(&bytes), "ONNX export: could not serialize the model");
  return bytes;
}

}  // namespace speakernet
