#include "speakernet/models/torch_save_writer.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>

#include "speakernet/common/error.h"

namespace speakernet {

const std::vector<std::pair<std::string, torch::ScalarType>>& TorchStorageTypes() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> types = {
      {"torch.FloatStorage", torch::kFloat},
      {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},
      {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},
      {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},
      {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},
      {"torch.BoolStorage", torch::kBool},
      {"torch.ComplexFloatStorage", torch::kComplexFloat},
      {"torch.ComplexDoubleStorage", torch::kComplexDouble}};
  return types;
}

namespace {

// The few pickle opcodes (protocol 2) a state dict needs.
class PickleWriter {
 public:
  void Proto() { out_ += "\x80\x02"; }
  void Stop() { out_ += '.'; }
  void Mark() { out_ += '('; }
  void Tuple() { out_ += 't'; }
  void EmptyTuple() { out_ += ')'; }
  void Reduce() { out_ += 'R'; }
  void SetItems() { out_ += 'u'; }
  void BinPersId() { out_ += 'Q'; }
  void NewFalse() { out_ += '\x89'; }
  // GLOBAL 'module\nname\n'.
  void Global(const std::string& module, const std::string& name) {
    out_ += 'c' + module + '\n' + name + '\n';
  }
  void String(const std::string& s) {  // BINUNICODE: 4-byte little-endian length + UTF-8
    out_ += 'X';
    Le32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void Int(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {  // BININT: 4-byte signed little-endian
      out_ += 'J';
      Le32(static_cast<uint32_t>(static_cast<int32_t>(v)));
      return;
    }
    out_ += '\x8a';  // LONG1: 8 two's-complement little-endian bytes (Python trims none)
    out_ += '\x08';
    for (int i = 0; i < 8; ++i) out_ += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  }
  void IntTuple(c10::IntArrayRef values) {
    Mark();
    for (const int64_t v : values) Int(v);
    Tuple();
  }
  void OrderedDict() {  // collections.OrderedDict() -- also the empty backward-hooks argument
    Global("collections", "OrderedDict");
    EmptyTuple();
    Reduce();
  }
  const std::string& bytes() const { return out_; }

 private:
  void Le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string out_;
};

std::string StorageTypeName(const std::string& key, torch::ScalarType dtype) {
  for (const auto& [name, type] : TorchStorageTypes()) {
    if (type == dtype) return name;
  }
  Fail(fmt::format("state dict key '{}': dtype {} has no torch.save storage type", key,
                   c10::toString(dtype)));
}

}  // namespace

std::string TorchSaveBytes(const StateDict& state, const ArchiveRecords& extra) {
  std::vector<torch::Tensor> storages;
  PickleWriter p;
  p.Proto();
  p.OrderedDict();
  p.Mark();
  for (const auto& [name, tensor] : state) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const std::string storage_key = std::to_string(storages.size());
    const std::string type = StorageTypeName(name, t.scalar_type());
    storages.push_back(t);
    p.String(name);
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
    p.Global("torch._utils", "_rebuild_tensor_v2");
    p.Mark();
    p.Mark();  // persistent id: ('storage', torch.<Type>Storage, key, location, numel)
    p.String("storage");
    const size_t dot = type.find('.');
    p.Global(type.substr(0, dot), type.substr(dot + 1));
    p.String(storage_key);
    p.String("cpu");
    p.Int(t.numel());
    p.Tuple();
    p.BinPersId();
    p.Int(0);
    p.IntTuple(t.sizes());
    p.IntTuple(t.strides());
    p.NewFalse();
    p.OrderedDict();
    p.Tuple();
    p.Reduce();
  }
  p.SetItems();
  p.Stop();

  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t n) -> size_t {
    out.append(static_cast<const char*>(data), n);
    return n;
  });
  writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
  static const char kByteOrder[] = "little";  // what torch.save >= 2.1 records
  writer.writeRecord("byteorder", kByteOrder, std::strlen(kByteOrder));
  for (size_t i = 0; i < storages.size(); ++i) {
    const torch::Tensor& t = storages[i];
    writer.writeRecord("data/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
  }
  for (const auto& [name, bytes] : extra) {
    SN_CHECK(name.rfind("data", 0) != 0 && name != "byteorder",
             "archive record name '{}' is reserved by torch.save", name);
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  return out;
}

}  // namespace speakernet
