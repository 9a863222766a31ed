#include "speakernet/common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "speakernet/common/runtime.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

struct InnerConfig {
  double lr = 0.02;
  std::vector<int> milestones{15, 25, 35};
  template <class V>
  void Fields(V& v) {
    v("lr", lr);
    v("milestones", milestones);
  }
  void Validate() const { SN_CHECK(lr > 0, "inner.lr must be > 0, got {}", lr); }
};

struct OuterConfig {
  std::string name = "sgd";
  bool nesterov = true;
  int epochs = 40;
  InnerConfig inner;
  template <class V>
  void Fields(V& v) {
    v("name", name);
    v("nesterov", nesterov);
    v("epochs", epochs);
    v("inner", inner);
  }
};

TEST(Config, DefaultsSurviveEmptyYaml) {
  OuterConfig c;
  ReadConfig(YAML::Load("{}"), c);
  EXPECT_EQ(c.name, "sgd");
  EXPECT_EQ(c.inner.milestones, (std::vector<int>{15, 25, 35}));
}

TEST(Config, ReadsNestedValuesAndOverrides) {
  YAML::Node root = YAML::Load("name: adam\ninner: {lr: 0.5}\n");
  ApplyOverrides(root, {"--inner.lr=0.1", "--epochs", "3", "--inner.milestones=[1, 2]"});
  OuterConfig c;
  ReadConfig(root, c);
  EXPECT_EQ(c.name, "adam");
  EXPECT_DOUBLE_EQ(c.inner.lr, 0.1);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.inner.milestones, (std::vector<int>{1, 2}));
}

TEST(Config, UnknownKeyNamesItsPath) {
  OuterConfig c;
  try {
    ReadConfig(YAML::Load("inner: {lrr: 1}"), c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inner.lrr"), std::string::npos) << e.what();
  }
}

// Regression (fuzz/config_fuzzer): a non-scalar key threw YAML::TypedBadConversion.
TEST(Config, NonScalarKeyIsAnErrorNamingThePath) {
  OuterConfig c;
  for (const char* yaml : {"{rate: 0.5}: rg\n", "inner: {[1, 2]: 3}", "? [a]\n: 1\n"}) {
    try {
      ReadConfig(YAML::Load(yaml), c);
      FAIL() << "expected an error for " << yaml;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a plain name"), std::string::npos) << e.what();
    }
  }
}

struct Names {
  std::vector<std::string> names;
  std::string name;
  template <class V>
  void Fields(V& v) {
    v("names", names);
    v("name", name);
  }
};

// Found by fuzz/config_fuzzer (the config written back did not read back the same):
// `names: [ \r,,!,x]` read the empty element as the string "null", and yaml-cpp wrote the "\r"
// element unquoted, so that it read back as a line break.
TEST(Config, EmptyListElementsAndControlCharactersAreErrors) {
  const auto error_of = [](const std::string& yaml) {
    try {
      Names c;
      ReadConfig(YAML::Load(yaml), c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("names: [a, , b]\n"), HasSubstr("config key 'names': element 2"));
  EXPECT_THAT(error_of("names: [ \r,,!,pc:0.2]\n"), HasSubstr("config key 'names'"));
  EXPECT_THAT(error_of("names: [\"a\\rb\", c]\n"), HasSubstr("control character 0x0d"));
  EXPECT_THAT(error_of("name: \"x\\u0001\"\n"), HasSubstr("config key 'name'"));
  // Tabs and newlines are text; the config reads back as it was written.
  Names c;
  ReadConfig(YAML::Load("names: [\"a\\tb\", \"c\\nd\", \"\"]\nname: x\n"), c);
  EXPECT_EQ(c.names, (std::vector<std::string>{"a\tb", "c\nd", ""}));
  Names again;
  ReadConfig(YAML::Load(YamlToString(ConfigToYaml(c))), again);
  EXPECT_EQ(again.names, c.names);
}

TEST(Config, WrongTypeAndValidationFail) {
  OuterConfig c;
  EXPECT_THROW(ReadConfig(YAML::Load("epochs: many"), c), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("inner: {lr: -1}"), c), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("inner: 3"), c), Error);
}

TEST(Config, RoundTripsThroughYaml) {
  OuterConfig a;
  a.name = "x";
  a.inner.lr = 0.25;
  OuterConfig b;
  ReadConfig(YAML::Load(YamlToString(ConfigToYaml(a))), b);
  EXPECT_EQ(b.name, "x");
  EXPECT_DOUBLE_EQ(b.inner.lr, 0.25);
  EXPECT_NE(ConfigToString(a).find("lr: 0.25"), std::string::npos) << ConfigToString(a);
}

TEST(Config, MalformedOverridesAreRejected) {
  YAML::Node root;
  EXPECT_THROW(ApplyOverrides(root, {"lr=1"}), Error);
  EXPECT_THROW(ApplyOverrides(root, {"--a..b=1"}), Error);
  EXPECT_THROW(ApplyOverrides(root, {"--a.b"}), Error);
}

}  // namespace
}  // namespace speakernet

namespace speakernet {
namespace {

// runtime.cudnn_benchmark picks algorithms by timing, which breaks exact resume: it must be
// asked for together with deterministic=false, and the error says so.
TEST(RuntimeConfigTest, CudnnBenchmarkNeedsDeterministicOff) {
  RuntimeConfig r;
  EXPECT_TRUE(r.deterministic);
  EXPECT_FALSE(r.cudnn_benchmark);
  r.Validate();
  r.cudnn_benchmark = true;
  EXPECT_NE(test::ErrorOf([&] { r.Validate(); }).find("runtime.deterministic=false"),
            std::string::npos);
  r.deterministic = false;
  r.Validate();
}

}  // namespace
}  // namespace speakernet
