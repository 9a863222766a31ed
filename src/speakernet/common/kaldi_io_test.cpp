#include "speakernet/common/kaldi_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet::kaldi {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
std::string Le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}

std::string Int32Field(int32_t v) { return std::string(1, '\x04') + Le(v); }

using test::ErrorOf;

int CountFiles(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

TEST(KaldiIo, VectorArkBytesMatchKaldiBinaryFormat) {
  test::ScratchDir dir("sn_kaldi_bytes");
  const std::string ark = dir / "a.ark", scp = dir / "a.scp";
  {
    ArkWriter w(ark, scp);
    const float v[2] = {1.0f, -2.0f};
    w.WriteVector("utt1", v, 2);
    const float u[1] = {0.5f};
    w.WriteVector("u2", u, 1);
    w.Close();
  }
  // Hand-written expectation: key, space, "\0B", "FV ", size marker 4, int32 LE dim, then
  // IEEE-754 LE floats (1.0 = 00 00 80 3f, -2.0 = 00 00 00 c0, 0.5 = 00 00 00 3f).
  const std::string expected = std::string("utt1 \0BFV \x04\x02\x00\x00\x00", 15) +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +
                               std::string("u2 \0BFV \x04\x01\x00\x00\x00", 13) +
                               std::string("\x00\x00\x00\x3f", 4);
  EXPECT_EQ(ReadBytes(ark), expected);
  // Offsets point at "\0B": 5 = len("utt1 "); 26 = first entry (5 + 2 + 3 + 5 + 8 = 23 bytes)
  // + len("u2 ").
  EXPECT_EQ(ReadBytes(scp), "utt1 " + ark + ":5\nu2 " + ark + ":26\n");
}

TEST(KaldiIo, MatrixArkBytesMatchKaldiBinaryFormat) {
  test::ScratchDir dir("sn_kaldi_mbytes");
  const std::string ark = dir / "m.ark";
  {
    ArkWriter w(ark, "");
    const float m[6] = {1, 2, 3, 4, 5, 6};
    w.WriteMatrix("k", m, 2, 3);
    w.Close();
  }
  std::string expected = std::string("k \0BFM ", 7) + Int32Field(2) + Int32Field(3);
  for (float f : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) expected += Le(f);
  EXPECT_EQ(ReadBytes(ark), expected);
  EXPECT_FALSE(fs::exists(dir / "m.scp"));
}

TEST(KaldiIo, RoundTripVectorsAndMatrices) {
  test::ScratchDir dir("sn_kaldi_rt");
  const std::string ark = dir / "sub/x.ark", scp = dir / "sub/x.scp";
  std::vector<float> v1 = {0.25f, -1e-20f, 3.5e10f}, v2;  // v2 is empty
  std::vector<float> m1(4 * 5);
  for (size_t i = 0; i < m1.size(); ++i) m1[i] = static_cast<float>(i) * 0.1f - 1.0f;
  {
    ArkWriter w(ark, scp);
    w.WriteVector("a", v1.data(), 3);
    w.WriteMatrix("b", m1.data(), 4, 5);
    w.WriteVector("c", v2.data(), 0);
    EXPECT_EQ(w.num_written(), 3);
    w.Close();
    w.Close();  // idempotent
  }
  const auto entries = ReadScp(scp);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].first, "a");
  EXPECT_EQ(ReadVector(entries[0].second), v1);
  const FloatMatrix m = ReadMatrix(entries[1].second);
  EXPECT_EQ(m.rows, 4);
  EXPECT_EQ(m.cols, 5);
  EXPECT_EQ(m.data, m1);
  EXPECT_TRUE(ReadVector(entries[2].second).empty());
  EXPECT_THAT(ErrorOf([&] { ReadMatrix(entries[0].second); }), HasSubstr("expected a matrix"));
  EXPECT_THAT(ErrorOf([&] { ReadVector(entries[1].second); }), HasSubstr("expected a vector"));

  std::vector<std::string> keys;
  std::vector<int64_t> rows;
  ForEachInArk(ark, [&](const std::string& key, const FloatMatrix& x) {
    keys.push_back(key);
    rows.push_back(x.rows);
    if (key == "a") EXPECT_EQ(x.data, v1);
    if (key == "b") EXPECT_EQ(x.data, m1);
  });
  EXPECT_THAT(keys, ElementsAre("a", "b", "c"));
  EXPECT_THAT(rows, ElementsAre(1, 4, 1));

  keys.clear();
  ForEachInScp(scp, [&](const std::string& key, const FloatMatrix& x) {
    keys.push_back(key);
    if (key == "b") EXPECT_EQ(x.data, m1);
  });
  EXPECT_THAT(keys, ElementsAre("a", "b", "c"));
}

TEST(KaldiIo, UnclosedWriterLeavesNothingAndClosedWriterOnlyFinalFiles) {
  test::ScratchDir dir("sn_kaldi_atomic");
  {
    ArkWriter w(dir / "x.ark", dir / "x.scp");
    const float v[1] = {1};
    w.WriteVector("a", v, 1);
  }  // destroyed without Close()
  EXPECT_EQ(CountFiles(dir.str()), 0);
  {
    ArkWriter w(dir / "x.ark", dir / "x.scp");
    const float v[1] = {1};
    w.WriteVector("a", v, 1);
    EXPECT_FALSE(fs::exists(dir / "x.ark"));  // not visible before Close()
    w.Close();
  }
  EXPECT_EQ(CountFiles(dir.str()), 2);
  EXPECT_TRUE(fs::exists(dir / "x.ark"));
  EXPECT_TRUE(fs::exists(dir / "x.scp"));
}

TEST(KaldiIo, WriterRejectsBadKeys) {
  test::ScratchDir dir("sn_kaldi_keys");
  ArkWriter w(dir / "x.ark", "");
  const float v[1] = {1};
  EXPECT_THAT(ErrorOf([&] { w.WriteVector("a b", v, 1); }), HasSubstr("whitespace"));
  EXPECT_THAT(ErrorOf([&] { w.WriteVector("", v, 1); }), HasSubstr("empty key"));
}

TEST(KaldiIo, ReadsDoublePrecisionObjects) {
  test::ScratchDir dir("sn_kaldi_double");
  std::string bytes = std::string("dv \0BDV ", 8) + Int32Field(2) + Le(1.5) + Le(-0.25);
  const size_t dm_offset = bytes.size() + 3;
  bytes += std::string("dm \0BDM ", 8) + Int32Field(1) + Int32Field(2) + Le(2.0) + Le(1e-3);
  WriteBytes(dir / "d.ark", bytes);
  EXPECT_THAT(ReadVector(dir / "d.ark:3"), ElementsAre(1.5f, -0.25f));
  const FloatMatrix m = ReadMatrix((dir / "d.ark:") + std::to_string(dm_offset));
  EXPECT_EQ(m.rows, 1);
  EXPECT_THAT(m.data, ElementsAre(2.0f, static_cast<float>(1e-3)));
}

TEST(KaldiIo, ReadsTextModeEntries) {
  test::ScratchDir dir("sn_kaldi_text");
  WriteBytes(dir / "t.ark", "v1 [ 1 2.5 -3 ]\nm1  [\n  1 2 \n  3 4 ]\nempty [ ]\n");
  std::map<std::string, FloatMatrix> got;
  ForEachInArk(dir / "t.ark", [&](const std::string& k, const FloatMatrix& m) { got[k] = m; });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got["v1"].rows, 1);
  EXPECT_THAT(got["v1"].data, ElementsAre(1.f, 2.5f, -3.f));
  EXPECT_EQ(got["m1"].rows, 2);
  EXPECT_EQ(got["m1"].cols, 2);
  EXPECT_THAT(got["m1"].data, ElementsAre(1.f, 2.f, 3.f, 4.f));
  EXPECT_EQ(got["empty"].cols, 0);
  EXPECT_THAT(ReadVector(dir / "t.ark:3"), ElementsAre(1.f, 2.5f, -3.f));
}

TEST(KaldiIo, ReadsBareObjectFileWithoutOffset) {
  test::ScratchDir dir("sn_kaldi_bare");
  WriteBytes(dir / "v.vec", std::string("\0BFV ", 5) + Int32Field(1) + Le(7.0f));
  EXPECT_THAT(ReadVector(dir / "v.vec"), ElementsAre(7.f));
}

TEST(KaldiIo, CorruptAndTruncatedDataNamePathAndKey) {
  test::ScratchDir dir("sn_kaldi_corrupt");
  const std::string ark = dir / "x.ark";
  {
    ArkWriter w(ark, dir / "x.scp");
    const float v[4] = {1, 2, 3, 4};
    w.WriteVector("good", v, 4);
    w.WriteVector("cut", v, 4);
    w.Close();
  }
  const std::string full = ReadBytes(ark);
  WriteBytes(ark, full.substr(0, full.size() - 3));  // truncate the last entry's data
  std::string err = ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); });
  EXPECT_THAT(err, HasSubstr(ark));
  EXPECT_THAT(err, HasSubstr("'cut'"));
  EXPECT_THAT(err, HasSubstr("truncated"));
  // Through the scp: the scp file:line and the key are named as well.
  err = ErrorOf([&] { ForEachInScp(dir / "x.scp", [](const auto&, const auto&) {}); });
  EXPECT_THAT(err, HasSubstr((dir / "x.scp") + ":2"));
  EXPECT_THAT(err, HasSubstr("cut"));
  // A bad offset in an rxspecifier.
  err = ErrorOf([&] { ReadVector(ark + ":7"); });
  EXPECT_THAT(err, HasSubstr(ark));
  EXPECT_THAT(err, HasSubstr("byte 7"));
  err = ErrorOf([&] { ReadVector(ark + ":99999"); });
  EXPECT_THAT(err, HasSubstr("outside the file"));
  // Corrupt type token, compressed matrix, wrong size marker, huge declared size.
  WriteBytes(ark, std::string("k \0BXX ", 7) + Int32Field(1) + Le(1.f));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("type token 'XX'"));
  WriteBytes(ark, std::string("k \0BCM ", 7) + std::string(20, '\0'));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("compressed matrix"));
  WriteBytes(ark, std::string("k \0BFV \x08", 8) + Le(int64_t{1}) + Le(1.f));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("size marker 4"));
  WriteBytes(ark, std::string("k \0BFM ", 7) + Int32Field(1 << 30) + Int32Field(1 << 30));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("truncated"));
  // A key that is never followed by an object.
  WriteBytes(ark, "dangling");
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("byte 0"));
  EXPECT_THAT(ErrorOf([&] { ReadVector(dir / "missing.ark:0"); }), HasSubstr("missing.ark"));
}

// Regression (fuzz/kaldi_fuzzer, fuzz/npy_fuzzer): sizes whose byte count overflows int64 were
// undefined behaviour (UBSan) before the truncation check; now they are truncation errors.
TEST(KaldiIo, OverflowingDeclaredSizesAreTruncationErrors) {
  test::ScratchDir dir("sn_kaldi_overflow");
  const std::string ark = dir / "x.ark";
  WriteBytes(ark, std::string("k \0BDM ", 7) + Int32Field(0x7fffffff) + Int32Field(0x7fffffff));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }),
              HasSubstr("truncated"));
  // The fuzzer's input: "DM" with rows 0x5fffff74 and a garbage column count.
  WriteBytes(ark, std::string("mP \0BDM \x04\x40\xbf\x0a\x74\x04\xff\xff\x5f\x32", 18));
  EXPECT_THAT(ErrorOf([&] { ForEachInArk(ark, [](const auto&, const auto&) {}); }), HasSubstr(ark));
  const std::string npy = dir / "x.npy";
  for (const std::string shape :
       {"(2, 399999999999999999999999999)", "(9223372036854775807, 2)", "(4611686018427387904,)"}) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    WriteBytes(npy, std::string("\x93NUMPY\x01\x00", 8) + Le(static_cast<uint16_t>(header.size())) +
                        header + std::string(16, '\0'));
    EXPECT_THAT(ErrorOf([&] { ReadNpy(npy); }), HasSubstr("truncated")) << shape;
  }
}

TEST(KaldiIo, ReadScpErrorsNameFileAndLine) {
  test::ScratchDir dir("sn_kaldi_scp");
  WriteBytes(dir / "bad.scp", "a x.ark:1\n\nb\n");
  EXPECT_THAT(ErrorOf([&] { ReadScp(dir / "bad.scp"); }), HasSubstr((dir / "bad.scp") + ":3"));
  EXPECT_THAT(ErrorOf([&] { ReadScp(dir / "none.scp"); }), HasSubstr("none.scp"));
}

TEST(KaldiIo, NpyHeaderAndRoundTrip) {
  test::ScratchDir dir("sn_kaldi_npy");
  const std::vector<float> data = {1, 2, 3, 4, 5, 6};
  WriteNpy(dir / "m.npy", data.data(), {2, 3});
  const std::string bytes = ReadBytes(dir / "m.npy");
  ASSERT_EQ(bytes.size(), 128u + 24u);  // header padded to 64 bytes, then 6 floats
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(bytes.substr(10, 59), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(bytes[127], '\n');
  const FloatMatrix m = ReadNpy(dir / "m.npy");
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 3);
  EXPECT_EQ(m.data, data);
  WriteNpy(dir / "v.npy", data.data(), {6});
  const FloatMatrix v = ReadNpy(dir / "v.npy");
  EXPECT_EQ(v.rows, 1);
  EXPECT_EQ(v.cols, 6);
  EXPECT_THAT(ReadBytes(dir / "v.npy"), HasSubstr("'shape': (6,), }"));
  EXPECT_THAT(ErrorOf([&] { ReadNpy(dir / "m.ark"); }), HasSubstr("m.ark"));
  WriteBytes(dir / "bad.npy", "not numpy at all");
  EXPECT_THAT(ErrorOf([&] { ReadNpy(dir / "bad.npy"); }), HasSubstr("bad magic"));
}

// Independent check with NumPy: the script parses our ark by hand (struct, no kaldiio), loads
// our .npy with np.load, and writes .npy files (float32 2-D, float64, Fortran order, 1-D) that
// we must read back.
TEST(KaldiIo, CrossCheckWithNumpy) {
  test::ScratchDir dir("sn_kaldi_numpy");
  const std::string ark = dir / "e.ark";
  std::vector<float> m(3 * 4);
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<float>(i) * 0.75f - 2.f;
  const std::vector<float> v = {0.1f, -0.2f, 3.25f};
  {
    ArkWriter w(ark, dir / "e.scp");
    w.WriteVector("spk1-utt1", v.data(), 3);
    w.WriteMatrix("spk1-utt2", m.data(), 3, 4);
    w.Close();
  }
  WriteNpy(dir / "ours.npy", m.data(), {3, 4});
  const std::string script = dir / "check.py";
  WriteBytes(script, R"PY(
import struct, sys
import numpy as np
d = sys.argv[1]
buf = open(d + "/e.ark", "rb").read()
pos, out = 0, []
while pos < len(buf):
    sp = buf.index(b" ", pos)
    key = buf[pos:sp].decode()
    off = sp + 1
    assert buf[off:off + 2] == b"\0B"
    tok = buf[off + 2:off + 5]
    p = off + 5
    if tok == b"FV ":
        assert buf[p] == 4
        n = struct.unpack("<i", buf[p + 1:p + 5])[0]; p += 5; shape = (n,)
    else:
        assert tok == b"FM " and buf[p] == 4 and buf[p + 5] == 4
        r = struct.unpack("<i", buf[p + 1:p + 5])[0]
        c = struct.unpack("<i", buf[p + 6:p + 10])[0]; p += 10; shape = (r, c)
    cnt = int(np.prod(shape))
    arr = np.frombuffer(buf[p:p + 4 * cnt], dtype="<f4").reshape(shape)
    pos = p + 4 * cnt
    out.append("%s %d %s %s" % (key, off, shape, " ".join("%.6g" % x for x in arr.ravel())))
for line in open(d + "/e.scp"):
    k, rx = line.split()
    out.append("scp %s %s" % (k, rx.rsplit(":", 1)[1]))
a = np.load(d + "/ours.npy")
out.append("npy %s %s %s" % (a.dtype, a.shape, " ".join("%.6g" % x for x in a.ravel())))
x = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
np.save(d + "/py_f4.npy", x)
np.save(d + "/py_f8.npy", x.astype(np.float64))
np.save(d + "/py_fortran.npy", np.asfortranarray(x))
np.save(d + "/py_1d.npy", x[1])
print("\n".join(out))
)PY");
  const std::string out = test::RunPython(script, {dir.str()});
  EXPECT_THAT(out, HasSubstr("spk1-utt1 10 (3,) 0.1 -0.2 3.25\n"));
  EXPECT_THAT(out, HasSubstr("spk1-utt2 42 (3, 4) -2 -1.25 -0.5 0.25 1 1.75 2.5 3.25 4 4.75 5.5 "
                             "6.25\n"));
  EXPECT_THAT(out, HasSubstr("scp spk1-utt1 10\nscp spk1-utt2 42\n"));
  EXPECT_THAT(out, HasSubstr("npy float32 (3, 4) -2 -1.25 -0.5 0.25 1 1.75 2.5 3.25 4 4.75 5.5 "
                             "6.25"));
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i) / 8;
  for (const char* name : {"py_f4.npy", "py_f8.npy", "py_fortran.npy"}) {
    const FloatMatrix got = ReadNpy(dir / name);
    EXPECT_EQ(got.rows, 3) << name;
    EXPECT_EQ(got.cols, 4) << name;
    EXPECT_EQ(got.data, x) << name;
  }
  const FloatMatrix row = ReadNpy(dir / "py_1d.npy");
  EXPECT_EQ(row.rows, 1);
  EXPECT_THAT(row.data, ElementsAre(0.5f, 0.625f, 0.75f, 0.875f));
}

}  // namespace
}  // namespace speakernet::kaldi
