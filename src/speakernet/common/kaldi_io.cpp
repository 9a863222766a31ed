#include "speakernet/common/kaldi_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"

namespace speakernet::kaldi {

namespace {

namespace fs = std::filesystem;

bool HostIsLittleEndian() {
  const uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

void CheckLittleEndian() {
  SN_CHECK(HostIsLittleEndian(), "Kaldi/NPY I/O needs a little-endian host");
}

bool IsSpaceChar(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// ------------------------------------------------------------------------------------------
// Reading

// A buffered file reader that knows its path and size, so errors can name the file and the
// byte offset, and declared sizes can be checked against the bytes that are really there.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "rb");
    SN_CHECK(file_ != nullptr, "cannot open '{}': {}", path_, std::strerror(errno));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    struct stat st;
    SN_CHECK(::fstat(::fileno(file_), &st) == 0, "cannot stat '{}'", path_);
    size_ = static_cast<int64_t>(st.st_size);
  }
  ~Reader() {
    if (file_) std::fclose(file_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }
  int64_t pos() const { return pos_; }
  int64_t remaining() const { return size_ - pos_; }

  void Seek(int64_t offset) {
    SN_CHECK(offset >= 0 && offset <= size_, "'{}': offset {} is outside the file ({} bytes)",
             path_, offset, size_);
    if (offset == pos_) return;
    SN_CHECK(::fseeko(file_, static_cast<off_t>(offset), SEEK_SET) == 0,
             "'{}': cannot seek to byte {}", path_, offset);
    pos_ = offset;
  }
  int Peek() {
    const int c = std::getc(file_);
    if (c != EOF) std::ungetc(c, file_);
    return c;
  }
  int Get() {
    const int c = std::getc(file_);
    if (c != EOF) ++pos_;
    return c;
  }
  // Reads exactly n bytes or throws an error describing `what`.
  void Read(void* out, size_t n, const std::string& what) {
    const size_t got = std::fread(out, 1, n, file_);
    pos_ += static_cast<int64_t>(got);
    SN_CHECK(got == n, "'{}': truncated at byte {} while reading {}", path_, pos_, what);
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t size_ = 0;
  int64_t pos_ = 0;
};

std::string Describe(const std::string& key) {
  return key.empty() ? std::string("object") : "entry '" + key + "'";
}

int32_t ReadInt32(Reader& r, const std::string& key, const char* what) {
  const int64_t at = r.pos();
  unsigned char marker = 0;
  r.Read(&marker, 1, fmt::format("the size of {} of {}", what, Describe(key)));
  SN_CHECK(marker == 4, "'{}' byte {}: {}: expected int32 size marker 4 before the {}, got {}",
           r.path(), at, Describe(key), what, static_cast<int>(marker));
  int32_t value = 0;
  r.Read(&value, 4, fmt::format("the {} of {}", what, Describe(key)));
  SN_CHECK(value >= 0, "'{}' byte {}: {}: negative {} {}", r.path(), at, Describe(key), what,
           value);
  return value;
}

// Reads the element data of a binary FV/DV/FM/DM object into m.data.
void ReadElements(Reader& r, const std::string& key, int64_t offset, bool is_double,
                  FloatMatrix& m) {
  // Compared by division: rows * cols * 8 of a hostile header overflows int64 (found by fuzzing).
  const int64_t elem = is_double ? 8 : 4, fits = r.remaining() / elem;
  SN_CHECK(m.rows >= 0 && m.cols >= 0 &&
               (m.rows == 0 || m.cols == 0 || (m.rows <= fits && m.cols <= fits / m.rows)),
           "'{}' byte {}: {} is truncated: it declares {}x{} {} values but only {} bytes remain",
           r.path(), offset, Describe(key), m.rows, m.cols, is_double ? "double" : "float",
           r.remaining());
  const int64_t count = m.rows * m.cols;
  const int64_t bytes = count * elem;
  m.data.resize(static_cast<size_t>(count));
  if (!is_double) {
    r.Read(m.data.data(), static_cast<size_t>(bytes), "data of " + Describe(key));
  } else {
    std::vector<double> tmp(static_cast<size_t>(count));
    r.Read(tmp.data(), static_cast<size_t>(bytes), "data of " + Describe(key));
    std::transform(tmp.begin(), tmp.end(), m.data.begin(),
                   [](double v) { return static_cast<float>(v); });
  }
}

// Binary object; the reader sits just after "\0B".
FloatMatrix ReadBinaryObject(Reader& r, const std::string& key, int64_t offset, bool* is_vector) {
  std::string token;
  for (;;) {
    const int c = r.Get();
    SN_CHECK(c != EOF, "'{}' byte {}: {} is truncated inside its type token", r.path(), offset,
             Describe(key));
    if (c == ' ') break;
    token.push_back(static_cast<char>(c));
    SN_CHECK(token.size() <= 8, "'{}' byte {}: {}: corrupt type token", r.path(), offset,
             Describe(key));
  }
  FloatMatrix m;
  if (token == "FV" || token == "DV") {
    m.rows = 1;
    m.cols = ReadInt32(r, key, "dimension");
    if (is_vector) *is_vector = true;
    ReadElements(r, key, offset, token == "DV", m);
  } else if (token == "FM" || token == "DM") {
    m.rows = ReadInt32(r, key, "row count");
    m.cols = ReadInt32(r, key, "column count");
    if (is_vector) *is_vector = false;
    ReadElements(r, key, offset, token == "DM", m);
  } else if (token.rfind("CM", 0) == 0) {
    Fail(
        fmt::format("'{}' byte {}: {} is a compressed matrix ({}), which is not supported; "
                    "write it uncompressed",
                    r.path(), offset, Describe(key), token));
  } else {
    Fail(
        fmt::format("'{}' byte {}: {} has unsupported or corrupt type token '{}' (expected FV, "
                    "DV, FM or DM)",
                    r.path(), offset, Describe(key), token));
  }
  return m;
}

// Text object " [ 1 2 3 ]" (vector) or " [\n 1 2\n 3 4 ]" (matrix); the reader sits before
// optional whitespace and the "[".
FloatMatrix ReadTextObject(Reader& r, const std::string& key, int64_t offset, bool* is_vector) {
  int c;
  while ((c = r.Peek()) == ' ' || c == '\t') r.Get();
  c = r.Get();
  SN_CHECK(c == '[', "'{}' byte {}: {}: expected a binary marker or '[', got {}", r.path(), offset,
           Describe(key), c == EOF ? std::string("end of file") : fmt::format("byte {}", c));
  bool matrix = false, seen_number = false;
  std::vector<float> values;
  std::vector<float> row;
  int64_t cols = -1, rows = 0;
  std::string tok;
  auto end_row = [&]() {
    if (row.empty()) return;
    if (cols < 0) cols = static_cast<int64_t>(row.size());
    SN_CHECK(static_cast<int64_t>(row.size()) == cols,
             "'{}' byte {}: {}: text matrix row {} has {} values, expected {}", r.path(), offset,
             Describe(key), rows, row.size(), cols);
    values.insert(values.end(), row.begin(), row.end());
    row.clear();
    ++rows;
  };
  auto flush_token = [&]() {
    if (tok.empty()) return;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(tok.c_str(), &end);
    SN_CHECK(end != tok.c_str() && *end == '\0', "'{}' byte {}: {}: bad number '{}'", r.path(),
             offset, Describe(key), tok);
    row.push_back(static_cast<float>(v));
    seen_number = true;
    tok.clear();
  };
  for (;;) {
    c = r.Get();
    SN_CHECK(c != EOF, "'{}' byte {}: {} is truncated (no closing ']')", r.path(), offset,
             Describe(key));
    if (c == ']') {
      flush_token();
      break;
    }
    if (c == '\n') {
      flush_token();
      if (!seen_number) matrix = true;
      if (matrix) end_row();
    } else if (IsSpaceChar(c)) {
      flush_token();
    } else {
      tok.push_back(static_cast<char>(c));
    }
  }
  FloatMatrix m;
  if (matrix) {
    end_row();
    m.rows = rows;
    m.cols = rows == 0 ? 0 : cols;
    m.data = std::move(values);
  } else {
    m.rows = 1;
    m.cols = static_cast<int64_t>(row.size());
    m.data = std::move(row);
  }
  if (is_vector) *is_vector = !matrix;
  return m;
}

// Reads the object at the reader's position (binary "\0B..." or text "[ ... ]").
FloatMatrix ReadObjectAt(Reader& r, const std::string& key, bool* is_vector) {
  const int64_t offset = r.pos();
  if (r.Peek() == '\0') {
    r.Get();
    const int b = r.Get();
    SN_CHECK(b == 'B', "'{}' byte {}: {}: corrupt binary marker (expected \"\\0B\")", r.path(),
             offset, Describe(key));
    return ReadBinaryObject(r, key, offset, is_vector);
  }
  return ReadTextObject(r, key, offset, is_vector);
}

struct RxSpec {
  std::string path;
  int64_t offset = 0;
};

RxSpec ParseRxSpec(const std::string& spec) {
  SN_CHECK(!spec.empty(), "empty rxspecifier");
  SN_CHECK(spec.back() != '|' && spec.find('[') == std::string::npos,
           "unsupported rxspecifier '{}' (pipes and slices are not supported)", spec);
  RxSpec rx;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos && colon + 1 < spec.size() &&
      std::all_of(spec.begin() + static_cast<std::ptrdiff_t>(colon) + 1, spec.end(),
                  [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; })) {
    rx.path = spec.substr(0, colon);
    rx.offset = std::strtoll(spec.c_str() + colon + 1, nullptr, 10);
  } else {
    rx.path = spec;
  }
  SN_CHECK(!rx.path.empty(), "rxspecifier '{}' has no file name", spec);
  return rx;
}

// ------------------------------------------------------------------------------------------
// NPY helpers

std::string NpyShapeString(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "()";
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Returns the text after `'key':` in an NPY header dict, or "" when absent.
std::string NpyField(const std::string& header, const std::string& key) {
  const std::string quoted = "'" + key + "'";
  size_t at = header.find(quoted);
  if (at == std::string::npos) return "";
  at = header.find(':', at + quoted.size());
  if (at == std::string::npos) return "";
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  return header.substr(at);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// ArkWriter

ArkWriter::ArkWriter(const std::string& ark_path, const std::string& scp_path)
    : ark_path_(ark_path), scp_path_(scp_path) {
  CheckLittleEndian();
  SN_CHECK(!ark_path.empty(), "ArkWriter: empty ark path");
  const std::string suffix = ".tmp." + std::to_string(::getpid());
  ark_tmp_ = ark_path_ + suffix;
  if (fs::path(ark_path_).has_parent_path()) MakeDirs(fs::path(ark_path_).parent_path().string());
  ark_ = std::fopen(ark_tmp_.c_str(), "wb");
  SN_CHECK(ark_ != nullptr, "cannot write '{}': {}", ark_tmp_, std::strerror(errno));
  std::setvbuf(ark_, nullptr, _IOFBF, 1 << 20);
  if (!scp_path_.empty()) {
    scp_tmp_ = scp_path_ + suffix;
    if (fs::path(scp_path_).has_parent_path()) {
      MakeDirs(fs::path(scp_path_).parent_path().string());
    }
    scp_ = std::fopen(scp_tmp_.c_str(), "wb");
    if (scp_ == nullptr) {
      const std::string reason = std::strerror(errno);
      Abandon();
      Fail(fmt::format("cannot write '{}': {}", scp_tmp_, reason));
    }
  }
}

ArkWriter::~ArkWriter() {
  if (!closed_) Abandon();
}

void ArkWriter::Abandon() noexcept {
  if (ark_) std::fclose(ark_);
  if (scp_) std::fclose(scp_);
  ark_ = scp_ = nullptr;
  std::error_code ec;
  if (!ark_tmp_.empty()) fs::remove(ark_tmp_, ec);
  if (!scp_tmp_.empty()) fs::remove(scp_tmp_, ec);
  closed_ = true;
}

void ArkWriter::Put(const void* data, size_t bytes) {
  if (bytes == 0) return;
  SN_CHECK(std::fwrite(data, 1, bytes, ark_) == bytes, "error writing '{}': {}", ark_tmp_,
           std::strerror(errno));
  offset_ += static_cast<int64_t>(bytes);
}

void ArkWriter::WriteHeader(const std::string& key, const char* token) {
  SN_CHECK(!closed_, "ArkWriter for '{}': write after Close()", ark_path_);
  SN_CHECK(!key.empty(), "'{}': empty key", ark_path_);
  SN_CHECK(std::none_of(key.begin(), key.end(),
                        [](char ch) { return IsSpaceChar(static_cast<unsigned char>(ch)); }),
           "'{}': key '{}' contains whitespace", ark_path_, key);
  Put(key.data(), key.size());
  Put(" ", 1);
  const int64_t object_offset = offset_;
  Put("\0B", 2);
  Put(token, 3);
  if (scp_) {
    const std::string line = key + " " + ark_path_ + ":" + std::to_string(object_offset) + "\n";
    SN_CHECK(std::fwrite(line.data(), 1, line.size(), scp_) == line.size(),
             "error writing '{}': {}", scp_tmp_, std::strerror(errno));
  }
}

namespace {
void CheckInt32(int64_t v, const std::string& key, const char* what) {
  SN_CHECK(v >= 0 && v <= std::numeric_limits<int32_t>::max(), "key '{}': {} {} is out of range",
           key, what, v);
}
}  // namespace

void ArkWriter::WriteVector(const std::string& key, const float* data, int64_t dim) {
  CheckInt32(dim, key, "dimension");
  WriteHeader(key, "FV ");
  const char marker = 4;
  const int32_t d = static_cast<int32_t>(dim);
  Put(&marker, 1);
  Put(&d, 4);
  Put(data, static_cast<size_t>(dim) * sizeof(float));
  ++num_written_;
}

void ArkWriter::WriteMatrix(const std::string& key, const float* data, int64_t rows, int64_t cols) {
  CheckInt32(rows, key, "row count");
  CheckInt32(cols, key, "column count");
  WriteHeader(key, "FM ");
  const char marker = 4;
  const int32_t r = static_cast<int32_t>(rows), c = static_cast<int32_t>(cols);
  Put(&marker, 1);
  Put(&r, 4);
  Put(&marker, 1);
  Put(&c, 4);
  Put(data, static_cast<size_t>(rows * cols) * sizeof(float));
  ++num_written_;
}

void ArkWriter::Close() {
  if (closed_) return;
  try {
    auto finish = [](std::FILE*& f, const std::string& tmp) {
      const bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
      const bool closed = std::fclose(f) == 0;
      f = nullptr;
      SN_CHECK(ok && closed, "error finishing '{}': {}", tmp, std::strerror(errno));
    };
    finish(ark_, ark_tmp_);
    if (scp_) finish(scp_, scp_tmp_);
    std::error_code ec;
    fs::rename(ark_tmp_, ark_path_, ec);
    SN_CHECK(!ec, "cannot rename '{}' to '{}': {}", ark_tmp_, ark_path_, ec.message());
    ark_tmp_.clear();
    if (!scp_path_.empty()) {
      fs::rename(scp_tmp_, scp_path_, ec);
      SN_CHECK(!ec, "cannot rename '{}' to '{}': {}", scp_tmp_, scp_path_, ec.message());
      scp_tmp_.clear();
    }
    // The renames are durable once their directories are fsync'ed.
    auto dir_of = [](const std::string& p) {
      const fs::path parent = fs::path(p).parent_path();
      return parent.empty() ? std::string(".") : parent.string();
    };
    SyncPath(dir_of(ark_path_));
    if (!scp_path_.empty() && dir_of(scp_path_) != dir_of(ark_path_)) SyncPath(dir_of(scp_path_));
    closed_ = true;
  } catch (...) {
    Abandon();
    throw;
  }
}

// ------------------------------------------------------------------------------------------
// Reading API

std::vector<std::pair<std::string, std::string>> ReadScp(const std::string& scp_path) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& line : ReadTextTable(scp_path, 1, 1)) {
    out.emplace_back(std::move(line.key), std::move(line.fields[0]));
  }
  return out;
}

FloatMatrix ReadObject(const std::string& rxspec, bool* is_vector) {
  CheckLittleEndian();
  const RxSpec rx = ParseRxSpec(rxspec);
  Reader r(rx.path);
  r.Seek(rx.offset);
  return ReadObjectAt(r, "", is_vector);
}

std::vector<float> ReadVector(const std::string& rxspec) {
  bool is_vector = false;
  FloatMatrix m = ReadObject(rxspec, &is_vector);
  SN_CHECK(is_vector, "'{}': expected a vector, found a {}x{} matrix", rxspec, m.rows, m.cols);
  return std::move(m.data);
}

FloatMatrix ReadMatrix(const std::string& rxspec) {
  bool is_vector = false;
  FloatMatrix m = ReadObject(rxspec, &is_vector);
  SN_CHECK(!is_vector, "'{}': expected a matrix, found a vector of dimension {}", rxspec, m.cols);
  return m;
}

void ForEachInArk(const std::string& ark_path,
                  const std::function<void(const std::string& key, const FloatMatrix& m)>& fn) {
  CheckLittleEndian();
  Reader r(ark_path);
  std::string key;
  for (;;) {
    int c;
    while (IsSpaceChar(c = r.Peek())) r.Get();
    if (c == EOF) break;
    const int64_t key_offset = r.pos();
    key.clear();
    for (;;) {
      c = r.Get();
      SN_CHECK(c != EOF && c != '\0' && c != '\n',
               "'{}' byte {}: corrupt or truncated entry (key '{}' is not followed by a space and "
               "an object)",
               ark_path, key_offset, key.substr(0, 64));
      if (c == ' ') break;
      key.push_back(static_cast<char>(c));
      SN_CHECK(key.size() <= 4096, "'{}' byte {}: corrupt entry (no key found)", ark_path,
               key_offset);
    }
    const FloatMatrix m = ReadObjectAt(r, key, nullptr);
    fn(key, m);
  }
}

void ForEachInScp(const std::string& scp_path,
                  const std::function<void(const std::string& key, const FloatMatrix& m)>& fn) {
  CheckLittleEndian();
  std::unique_ptr<Reader> reader;
  for (const auto& line : ReadTextTable(scp_path, 1, 1)) {
    FloatMatrix m;
    try {
      const RxSpec rx = ParseRxSpec(line.fields[0]);
      if (!reader || reader->path() != rx.path) {
        reader.reset();
        reader = std::make_unique<Reader>(rx.path);
      }
      reader->Seek(rx.offset);
      m = ReadObjectAt(*reader, line.key, nullptr);
    } catch (const Error& e) {
      Fail(fmt::format("{}:{}: key '{}': {}", scp_path, line.line_no, line.key, e.what()));
    }
    fn(line.key, m);
  }
}

// ------------------------------------------------------------------------------------------
// NPY

void WriteNpy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  CheckLittleEndian();
  int64_t count = 1;
  for (const int64_t d : shape) {
    SN_CHECK(d >= 0, "'{}': negative dimension in shape {}", path, NpyShapeString(shape));
    count *= d;
  }
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + NpyShapeString(shape) + ", }";
  // magic(6) + version(2) + length(2) + header + '\n' is padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  SN_CHECK(header.size() <= 65535, "'{}': NPY header too long", path);
  WriteFileAtomically(path, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    SN_CHECK(f != nullptr, "cannot write '{}': {}", tmp, std::strerror(errno));
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
    bool ok = std::fwrite(magic, 1, 8, f) == 8 && std::fwrite(&len, 1, 2, f) == 2 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size();
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    if (ok && bytes > 0) ok = std::fwrite(data, 1, bytes, f) == bytes;
    ok = (std::fclose(f) == 0) && ok;
    SN_CHECK(ok, "error writing '{}'", tmp);
  });
}

FloatMatrix ReadNpy(const std::string& path) {
  CheckLittleEndian();
  Reader r(path);
  char magic[8];
  r.Read(magic, 8, "the NPY magic");
  SN_CHECK(std::memcmp(magic, "\x93NUMPY", 6) == 0, "'{}': not an NPY file (bad magic)", path);
  const int major = magic[6];
  SN_CHECK(major >= 1 && major <= 3, "'{}': unsupported NPY version {}.{}", path, major,
           static_cast<int>(magic[7]));
  uint32_t header_len = 0;
  if (major == 1) {
    uint16_t len16 = 0;
    r.Read(&len16, 2, "the NPY header length");
    header_len = len16;
  } else {
    r.Read(&header_len, 4, "the NPY header length");
  }
  SN_CHECK(header_len <= r.remaining(), "'{}': truncated NPY header", path);
  std::string header(header_len, '\0');
  r.Read(header.data(), header_len, "the NPY header");

  const std::string descr_field = NpyField(header, "descr");
  SN_CHECK(descr_field.size() >= 5 && (descr_field[0] == '\'' || descr_field[0] == '"'),
           "'{}': NPY header has no 'descr': {}", path, header);
  const std::string descr = descr_field.substr(1, descr_field.find(descr_field[0], 1) - 1);
  const bool is_double = descr == "<f8";
  SN_CHECK(descr == "<f4" || descr == "<f8",
           "'{}': unsupported NPY dtype '{}' (expected little-endian float32 '<f4' or '<f8')", path,
           descr);
  const std::string order = NpyField(header, "fortran_order");
  SN_CHECK(order.rfind("True", 0) == 0 || order.rfind("False", 0) == 0,
           "'{}': NPY header has no 'fortran_order': {}", path, header);
  const bool fortran = order.rfind("True", 0) == 0;
  const std::string shape_field = NpyField(header, "shape");
  SN_CHECK(!shape_field.empty() && shape_field[0] == '(', "'{}': NPY header has no 'shape': {}",
           path, header);
  std::vector<int64_t> shape;
  {
    const size_t close = shape_field.find(')');
    SN_CHECK(close != std::string::npos, "'{}': malformed NPY shape: {}", path, header);
    std::string dims = shape_field.substr(1, close - 1);
    size_t i = 0;
    while (i < dims.size()) {
      while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
      if (i >= dims.size()) break;
      char* end = nullptr;
      const long long d = std::strtoll(dims.c_str() + i, &end, 10);
      SN_CHECK(end != dims.c_str() + i && d >= 0, "'{}': malformed NPY shape: {}", path, header);
      shape.push_back(d);
      i = static_cast<size_t>(end - dims.c_str());
      while (i < dims.size() && dims[i] == 'L') ++i;
    }
  }
  SN_CHECK(shape.size() <= 2, "'{}': expected a 1-D or 2-D array, got shape {}", path,
           NpyShapeString(shape));
  FloatMatrix m;
  m.rows = shape.size() == 2 ? shape[0] : 1;
  m.cols = shape.empty() ? 1 : shape.back();
  const int64_t data_offset = r.pos();
  ReadElements(r, "", data_offset, is_double, m);
  if (fortran && m.rows > 1 && m.cols > 1) {
    std::vector<float> c_order(m.data.size());
    for (int64_t i = 0; i < m.rows; ++i) {
      for (int64_t j = 0; j < m.cols; ++j) c_order[i * m.cols + j] = m.data[j * m.rows + i];
    }
    m.data.swap(c_order);
  }
  return m;
}

}  // namespace speakernet::kaldi
