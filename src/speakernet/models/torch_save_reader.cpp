#include "speakernet/models/torch_save_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include "speakernet/common/error.h"
#include "speakernet/models/torch_save_writer.h"

namespace speakernet {

namespace {

// A record of the archive; LibTorch's errors (a damaged entry) become an Error naming the file.
std::tuple<at::DataPtr, size_t> GetRecord(caffe2::serialize::PyTorchStreamReader& zip,
                                          const std::string& name, const std::string& path) {
  try {
    return zip.getRecord(name);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    Fail(fmt::format("'{}': record '{}' is damaged: {}", path, name,
                     std::string(e.what()).substr(0, 200)));
  }
}

// A Python value as far as state dicts need them.
struct PyValue;
using PyPtr = std::shared_ptr<PyValue>;
struct PyValue {
  enum Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kTuple, kList, kDict, kGlobal, kTensor };
  Kind kind = kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;  // str, bytes, or "module.name" of a global
  std::vector<PyPtr> items;
  std::vector<std::pair<PyPtr, PyPtr>> dict;  // insertion order, as OrderedDict
  torch::Tensor tensor;
};

PyPtr Make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}

const char* KindName(PyValue::Kind k) {
  static const char* names[] = {"None",  "bool", "int",  "float",  "str",   "bytes",
                                "tuple", "list", "dict", "global", "tensor"};
  return names[k];
}

c10::optional<torch::ScalarType> StorageDtype(const std::string& global) {
  for (const auto& [name, dtype] : TorchStorageTypes()) {
    if (name == global) return dtype;
  }
  return c10::nullopt;
}

class Unpickler {
 public:
  Unpickler(const std::string& path, caffe2::serialize::PyTorchStreamReader& zip, const char* data,
            size_t size)
      : path_(path), zip_(zip), p_(data), end_(data + size) {}

  PyPtr Run() {
    while (true) {
      const uint8_t op = Byte();
      // One line per opcode, its pickle name beside it.
      // clang-format off
      switch (op) {
        case 0x80: Byte(); break;                 // PROTO
        case 0x95: Bytes(8); break;               // FRAME (protocol 4): size only
        case '.': return Pop();                   // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case 'N': stack_.push_back(Make(PyValue::kNone)); break;
        case 0x88: case 0x89: {                   // NEWTRUE, NEWFALSE
          auto v = Make(PyValue::kBool);
          v->i = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'J': PushInt(static_cast<int32_t>(Le(4))); break;  // BININT
        case 'K': PushInt(static_cast<int64_t>(Le(1))); break;  // BININT1
        case 'M': PushInt(static_cast<int64_t>(Le(2))); break;  // BININT2
        case 0x8a: PushLong(Le(1)); break;                       // LONG1
        case 0x8b: PushLong(Le(4)); break;                       // LONG4
        case 'G': {                                              // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | Byte();
          auto v = Make(PyValue::kFloat);
          std::memcpy(&v->f, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': PushStr(PyValue::kStr, Le(4)); break;     // BINUNICODE
        case 0x8c: PushStr(PyValue::kStr, Le(1)); break;    // SHORT_BINUNICODE
        case 0x8d: PushStr(PyValue::kStr, Le(8)); break;    // BINUNICODE8
        case 'T': PushStr(PyValue::kBytes, Le(4)); break;   // BINSTRING
        case 'U': PushStr(PyValue::kBytes, Le(1)); break;   // SHORT_BINSTRING
        case 'B': PushStr(PyValue::kBytes, Le(4)); break;   // BINBYTES
        case 'C': PushStr(PyValue::kBytes, Le(1)); break;   // SHORT_BINBYTES
        case ')': stack_.push_back(Make(PyValue::kTuple)); break;
        case ']': stack_.push_back(Make(PyValue::kList)); break;
        case '}': stack_.push_back(Make(PyValue::kDict)); break;
        case 't': case 'l': {  // TUPLE, LIST
          auto v = Make(op == 't' ? PyValue::kTuple : PyValue::kList);
          v->items = PopToMark();
          stack_.push_back(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          auto v = Make(PyValue::kTuple);
          v->items.resize(op - 0x84);
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = Pop();
          stack_.push_back(v);
          break;
        }
        case 'd': {  // DICT
          auto v = Make(PyValue::kDict);
          AddPairs(*v, PopToMark());
          stack_.push_back(v);
          break;
        }
        case 's': {  // SETITEM
          auto value = Pop();
          auto key = Pop();
          Expect(Top(), PyValue::kDict, "SETITEM")->dict.emplace_back(key, value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = PopToMark();
          AddPairs(*Expect(Top(), PyValue::kDict, "SETITEMS"), items);
          break;
        }
        case 'a': {  // APPEND
          auto value = Pop();
          Expect(Top(), PyValue::kList, "APPEND")->items.push_back(value);
          break;
        }
        case 'e': {  // APPENDS
          auto items = PopToMark();
          auto& list = Expect(Top(), PyValue::kList, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 'q': Memoize(Le(1)); break;         // BINPUT
        case 'r': Memoize(Le(4)); break;         // LONG_BINPUT
        case 0x94: Memoize(memo_.size()); break;  // MEMOIZE
        case 'h': stack_.push_back(Memo(Le(1))); break;  // BINGET
        case 'j': stack_.push_back(Memo(Le(4))); break;  // LONG_BINGET
        case 'c': {  // GLOBAL
          auto v = Make(PyValue::kGlobal);
          const std::string module = Line();
          v->s = module + "." + Line();
          stack_.push_back(v);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = Pop();
          auto module = Pop();
          auto v = Make(PyValue::kGlobal);
          v->s = module->s + "." + name->s;
          stack_.push_back(v);
          break;
        }
        case 'R': case 0x81: {  // REDUCE, NEWOBJ
          auto args = Pop();
          auto callable = Pop();
          stack_.push_back(Call(callable, args));
          break;
        }
        case 'b': {  // BUILD: the OrderedDict's __dict__ (`_metadata`) or a tensor's state
          Pop();
          break;
        }
        case 'Q': stack_.push_back(LoadStorage(Pop())); break;  // BINPERSID
        case '0': Pop(); break;                                 // POP
        case '1': PopToMark(); break;                           // POP_MARK
        case '2': {                                             // DUP
          auto top = Top();
          stack_.push_back(top);
          break;
        }
        default:
          Fail(fmt::format("'{}': unsupported pickle opcode 0x{:02x} in data.pkl; expected a "
                           "torch.save'd state dict",
                           path_, op));
      }
      // clang-format on
    }
  }

 private:
  uint8_t Byte() {
    SN_CHECK(p_ < end_, "'{}': data.pkl ends unexpectedly", path_);
    return static_cast<uint8_t>(*p_++);
  }
  const char* Bytes(size_t n) {
    SN_CHECK(static_cast<size_t>(end_ - p_) >= n, "'{}': data.pkl ends unexpectedly", path_);
    const char* at = p_;
    p_ += n;
    return at;
  }
  uint64_t Le(int n) {
    const auto* b = reinterpret_cast<const uint8_t*>(Bytes(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[k];
    return v;
  }
  std::string Line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    SN_CHECK(p_ < end_, "'{}': data.pkl ends unexpectedly", path_);
    return std::string(start, p_++);
  }
  void PushInt(int64_t x) {
    auto v = Make(PyValue::kInt);
    v->i = x;
    stack_.push_back(v);
  }
  void PushLong(uint64_t n) {
    SN_CHECK(n <= 8, "'{}': integer of {} bytes is too large", path_, n);
    const auto* b = reinterpret_cast<const uint8_t*>(Bytes(n));
    uint64_t x = 0;
    for (size_t k = n; k-- > 0;) x = (x << 8) | b[k];
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) x |= ~uint64_t(0) << (8 * n);  // sign-extend
    PushInt(static_cast<int64_t>(x));
  }
  void PushStr(PyValue::Kind kind, uint64_t n) {
    auto v = Make(kind);
    v->s.assign(Bytes(n), n);
    stack_.push_back(v);
  }
  PyPtr Pop() {
    SN_CHECK(!stack_.empty(), "'{}': malformed data.pkl (stack underflow)", path_);
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  const PyPtr& Top() {
    SN_CHECK(!stack_.empty(), "'{}': malformed data.pkl (empty stack)", path_);
    return stack_.back();
  }
  std::vector<PyPtr> PopToMark() {
    SN_CHECK(!marks_.empty() && marks_.back() <= stack_.size(), "'{}': malformed data.pkl (mark)",
             path_);
    std::vector<PyPtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                             stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void AddPairs(PyValue& dict, const std::vector<PyPtr>& items) {
    SN_CHECK(items.size() % 2 == 0, "'{}': malformed data.pkl (odd SETITEMS)", path_);
    for (size_t k = 0; k < items.size(); k += 2) dict.dict.emplace_back(items[k], items[k + 1]);
  }
  PyPtr Expect(const PyPtr& v, PyValue::Kind kind, const char* what) {
    SN_CHECK(v->kind == kind, "'{}': malformed data.pkl ({} on a {}, expected a {})", path_, what,
             KindName(v->kind), KindName(kind));
    return v;
  }
  void Memoize(uint64_t id) {
    auto top = Top();
    memo_[id] = top;
  }
  PyPtr Memo(uint64_t id) {
    const auto it = memo_.find(id);
    SN_CHECK(it != memo_.end(), "'{}': malformed data.pkl (memo {} unset)", path_, id);
    return it->second;
  }
  std::vector<int64_t> Ints(const PyPtr& v, const char* what) {
    SN_CHECK(v->kind == PyValue::kTuple || v->kind == PyValue::kList,
             "'{}': tensor {} is a {}, expected a tuple", path_, what, KindName(v->kind));
    std::vector<int64_t> out;
    for (const auto& x : v->items) {
      SN_CHECK(x->kind == PyValue::kInt, "'{}': tensor {} holds a {}", path_, what,
               KindName(x->kind));
      out.push_back(x->i);
    }
    return out;
  }

  PyPtr Call(const PyPtr& callable, const PyPtr& args) {
    SN_CHECK(callable->kind == PyValue::kGlobal, "'{}': cannot call a {} in data.pkl", path_,
             KindName(callable->kind));
    const std::string& name = callable->s;
    const auto& a = args->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      // OrderedDict.__reduce__ passes no items here; they follow with SETITEMS.
      auto v = Make(PyValue::kDict);
      if (!a.empty() && a[0]->kind == PyValue::kList) {
        for (const auto& pair : a[0]->items) {
          if (pair->items.size() == 2) v->dict.emplace_back(pair->items[0], pair->items[1]);
        }
      }
      return v;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      SN_CHECK(a.size() >= 4 && a[0]->kind == PyValue::kTensor && a[1]->kind == PyValue::kInt,
               "'{}': unexpected arguments of {}", path_, name);
      const auto size = Ints(a[2], "size");
      const auto stride = Ints(a[3], "stride");
      const auto& storage = a[0]->tensor;
      CheckView(size, stride, a[1]->i, storage.numel());
      auto v = Make(PyValue::kTensor);
      v->tensor = storage.as_strided(size, stride, a[1]->i).clone(at::MemoryFormat::Contiguous);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      SN_CHECK(!a.empty() && a[0]->kind == PyValue::kTensor, "'{}': unexpected arguments of {}",
               path_, name);
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3) {
      return Call(a[0], a[2]);  // (func, new_type, args, state): a Tensor subclass
    }
    Fail(
        fmt::format("'{}': data.pkl uses '{}', which a state dict of tensors does not need; "
                    "save the model's state_dict() (a dict of tensors)",
                    path_, name));
  }

  PyPtr LoadStorage(const PyPtr& pid) {
    // ('storage', torch.<Type>Storage, key, location, numel)
    SN_CHECK(pid->kind == PyValue::kTuple && pid->items.size() >= 5 &&
                 pid->items[0]->s == "storage" && pid->items[1]->kind == PyValue::kGlobal,
             "'{}': unexpected persistent id in data.pkl", path_);
    const std::string key = pid->items[2]->s;
    const int64_t numel = pid->items[4]->i;
    const auto dtype = StorageDtype(pid->items[1]->s);
    SN_CHECK(dtype.has_value(), "'{}': unsupported storage type '{}'", path_, pid->items[1]->s);
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const std::string record = "data/" + key;
      SN_CHECK(zip_.hasRecord(record), "'{}': the archive lacks the tensor data '{}'", path_,
               record);
      auto [data, size] = GetRecord(zip_, record, path_);
      // Checked before allocating: a hostile element count must not allocate more than the
      // record holds (found by fuzz/torch_save_fuzzer).
      const int64_t element = static_cast<int64_t>(c10::elementSize(*dtype));
      SN_CHECK(numel >= 0 && numel <= static_cast<int64_t>(size) / element,
               "'{}': tensor data '{}' has {} bytes, too few for {} elements of {} bytes", path_,
               record, size, numel, element);
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(*dtype));
      const size_t bytes = static_cast<size_t>(numel * element);
      if (bytes > 0) std::memcpy(t.data_ptr(), data.get(), bytes);
      it = storages_.emplace(key, t).first;
    }
    auto v = Make(PyValue::kTensor);
    v->tensor = it->second;
    return v;
  }

  // A view (size, stride, offset) must lie inside its storage, with no negative or overflowing
  // numbers, and describe at most max(storage, 2^24) elements, so that clone() cannot be made to
  // allocate more than the file could hold (found by fuzz/torch_save_fuzzer: a short stride list
  // was read past its end, and (size - 1) * stride overflowed).
  void CheckView(const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                 int64_t offset, int64_t storage_numel) const {
    SN_CHECK(size.size() == stride.size(), "'{}': a tensor has {} sizes but {} strides", path_,
             size.size(), stride.size());
    SN_CHECK(offset >= 0, "'{}': a tensor has a negative storage offset {}", path_, offset);
    int64_t last = offset, numel = 1;
    for (size_t d = 0; d < size.size(); ++d) {
      SN_CHECK(size[d] >= 0 && stride[d] >= 0, "'{}': a tensor has a negative size or stride",
               path_);
      int64_t span = 0;
      const bool overflow =
          __builtin_mul_overflow(std::max<int64_t>(size[d] - 1, 0), stride[d], &span) ||
          __builtin_add_overflow(last, span, &last) ||
          __builtin_mul_overflow(numel, size[d], &numel);
      SN_CHECK(!overflow, "'{}': a tensor's size or stride is out of range", path_);
    }
    SN_CHECK(numel == 0 || last < storage_numel, "'{}': a tensor lies outside its storage", path_);
    SN_CHECK(numel <= std::max<int64_t>(storage_numel, int64_t{1} << 24),
             "'{}': a tensor of {} elements is a view of a storage of only {}", path_, numel,
             storage_numel);
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  const char* p_;
  const char* end_;
  std::vector<PyPtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyPtr> memo_;
  std::unordered_map<std::string, torch::Tensor> storages_;
};

bool IsTensorDict(const PyValue& v) {
  if (v.kind != PyValue::kDict) return false;
  for (const auto& [k, x] : v.dict) {
    if (k->kind != PyValue::kStr || x->kind != PyValue::kTensor) return false;
  }
  return true;
}

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> OpenArchive(const std::string& path) {
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    Fail(
        fmt::format("cannot read '{}' as a torch.save zip archive (a file saved with "
                    "_use_new_zipfile_serialization=False, or not a PyTorch file?): {}",
                    path, std::string(e.what()).substr(0, 200)));
  }
}

}  // namespace

std::map<std::string, std::string> ReadArchiveRecords(const std::string& path,
                                                      const std::vector<std::string>& names) {
  const auto zip = OpenArchive(path);
  std::map<std::string, std::string> out;
  for (const std::string& name : names) {
    if (!zip->hasRecord(name)) continue;
    try {
      auto [data, size] = GetRecord(*zip, name, path);
      out[name] = std::string(static_cast<const char*>(data.get()), size);
    } catch (const std::exception& e) {
      Fail(fmt::format("'{}': record '{}' is damaged: {}", path, name,
                       std::string(e.what()).substr(0, 200)));
    }
  }
  return out;
}

StateDict ReadTorchSaveStateDict(const std::string& path) {
  const auto zip = OpenArchive(path);
  if (zip->hasRecord("byteorder")) {
    auto [data, size] = GetRecord(*zip, "byteorder", path);
    const std::string order(static_cast<const char*>(data.get()), size);
    SN_CHECK(order == "little", "'{}': byte order '{}' is not supported", path, order);
  }
  SN_CHECK(zip->hasRecord("data.pkl"), "'{}' has no data.pkl; not a torch.save file", path);
  auto [pkl, pkl_size] = GetRecord(*zip, "data.pkl", path);
  PyPtr top = Unpickler(path, *zip, static_cast<const char*>(pkl.get()), pkl_size).Run();
  SN_CHECK(top->kind == PyValue::kDict, "'{}' holds a {}, expected a dict of tensors", path,
           KindName(top->kind));
  if (!IsTensorDict(*top)) {
    for (const auto& [k, x] : top->dict) {
      if (k->kind == PyValue::kStr && (k->s == "state_dict" || k->s == "model") &&
          IsTensorDict(*x)) {
        top = x;
        break;
      }
    }
  }
  StateDict out;
  for (const auto& [k, x] : top->dict) {
    SN_CHECK(k->kind == PyValue::kStr, "'{}': a key is a {}, expected str", path,
             KindName(k->kind));
    SN_CHECK(x->kind == PyValue::kTensor, "'{}': entry '{}' is a {}, expected a tensor", path, k->s,
             KindName(x->kind));
    out.emplace_back(k->s, x->tensor);
  }
  return out;
}

}  // namespace speakernet
