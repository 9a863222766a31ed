// YAML config loading (common/config.h): section 1 is a config file read into a struct with
// every kind of field the configs use (numbers, flags, strings, lists, nested structs,
// Validate); section 2 (optional) holds `--a.b=c` overrides, one per line, applied to it. The
// result is printed back and re-read, which must give the same YAML.
#include <sstream>

#include "fuzz/fuzz_util.h"
#include "speakernet/common/config.h"

namespace {

struct Inner {
  double rate = 0.5;
  std::vector<int> sizes{3, 5};
  std::string name = "fbank";
  template <class V>
  void Fields(V& v) {
    v("rate", rate);
    v("sizes", sizes);
    v("name", name);
  }
  void Validate() const { SN_CHECK(rate >= 0 && rate <= 1, "inner.rate {} not in [0, 1]", rate); }
};

struct FuzzConfig {
  int epochs = 10;
  int64_t steps = 1000;
  float margin = 0.2f;
  bool amp = false;
  std::string method = "aam";
  std::vector<double> milestones{0.5, 0.75};
  std::vector<std::string> names;
  Inner inner;
  Inner other;
  template <class V>
  void Fields(V& v) {
    v("epochs", epochs);
    v("steps", steps);
    v("margin", margin);
    v("amp", amp);
    v("method", method);
    v("milestones", milestones);
    v("names", names);
    v("inner", inner);
    v("other", other);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const auto sections = fuzz::Sections(data, size);
  const std::string path = fuzz::WriteInput("config.yaml", sections[0].data(), sections[0].size());
  fuzz::Clean([&] {
    YAML::Node root = LoadYamlFile(path);
    if (sections.size() > 1) {
      std::vector<std::string> args;
      std::istringstream lines{std::string(sections[1])};
      for (std::string line; std::getline(lines, line);) args.push_back(line);
      ApplyOverrides(root, args);
    }
    FuzzConfig config;
    ReadConfig(root, config);
    const std::string text = YamlToString(ConfigToYaml(config));
    FuzzConfig again;
    ReadConfig(YAML::Load(text), again);
    if (YamlToString(ConfigToYaml(again)) != text) std::abort();
  });
  return 0;
}
