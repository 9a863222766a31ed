// Config structs: plain structs with defaults that list their fields once,
//
//   struct OptimizerConfig {
//     double lr = 0.02;
//     template <class V> void Fields(V& v) { v("lr", lr, "base learning rate"); }
//     void Validate() const { SN_CHECK(lr > 0, "optimizer.lr must be > 0, got {}", lr); }
//   };
//
// From that one list the helpers below read YAML (unknown keys are errors that name the
// dotted path), apply `--a.b=c` command-line overrides, validate, and print the struct as
// YAML for logs and the experiment directory. Nested structs are fields like any other.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "speakernet/common/error.h"

namespace speakernet {

namespace config_detail {

struct NullVisitor {
  template <class T>
  void operator()(const char*, T&, const char* = "") {}
};

template <class T, class = void>
struct HasFields : std::false_type {};
template <class T>
struct HasFields<T, std::void_t<decltype(std::declval<T&>().Fields(std::declval<NullVisitor&>()))>>
    : std::true_type {};

template <class T, class = void>
struct HasValidate : std::false_type {};
template <class T>
struct HasValidate<T, std::void_t<decltype(std::declval<const T&>().Validate())>> : std::true_type {};

std::string Join(const std::string& prefix, const std::string& key);
std::string Dump(const YAML::Node& node);
// Fails (naming `path`) on a null element of a list, which yaml-cpp would read as the string
// "null", and on control characters other than tab and newline in a scalar, which its emitter
// does not always quote (a "\r" element then reads back as a line break). Found by
// fuzz/config_fuzzer's write-and-read-back check.
void CheckValueText(const YAML::Node& node, const std::string& path);

}  // namespace config_detail

template <class C>
void ReadConfig(const YAML::Node& node, C& config, const std::string& path = "");

// Visitor that copies present keys from a YAML map into the fields it is shown.
class YamlFieldReader {
 public:
  YamlFieldReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {}

  template <class T>
  void operator()(const char* key, T& value, const char* /*doc*/ = "") {
    seen_.insert(key);
    const std::string path = config_detail::Join(path_, key);
    YAML::Node child = node_.IsMap() ? node_[key] : YAML::Node();
    if constexpr (config_detail::HasFields<T>::value) {
      ReadConfig(child, value, path);  // always descend, so nested defaults are validated too
    } else if (child && !child.IsNull()) {
      try {
        value = child.template as<T>();
      } catch (const YAML::Exception&) {
        Fail("config key '" + path + "': cannot use '" + config_detail::Dump(child) +
             "' (wrong type)");
      }
      config_detail::CheckValueText(child, path);
    }
  }

  const std::set<std::string>& seen() const { return seen_; }

 private:
  const YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

// Visitor that writes every field into a YAML map.
class YamlFieldWriter {
 public:
  template <class T>
  void operator()(const char* key, const T& value, const char* /*doc*/ = "") {
    if constexpr (config_detail::HasFields<T>::value) {
      YamlFieldWriter nested;
      const_cast<T&>(value).Fields(nested);
      node_[key] = nested.node();
    } else {
      node_[key] = value;
    }
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_{YAML::NodeType::Map};
};

// Reads `config` from a YAML map (a missing or null node keeps the defaults), rejects unknown
// keys by their dotted path, then calls config.Validate() when the struct has one.
template <class C>
void ReadConfig(const YAML::Node& node, C& config, const std::string& path) {
  const bool present = node && !node.IsNull();
  if (present && !node.IsMap()) {
    Fail("config key '" + (path.empty() ? std::string("<root>") : path) +
         "' must be a map, got '" + config_detail::Dump(node) + "'");
  }
  YamlFieldReader reader(present ? node : YAML::Node(YAML::NodeType::Map), path);
  config.Fields(reader);
  if (present) {
    for (const auto& item : node) {
      // A map or list used as a key (`{a: 1}: x`) is an error, not yaml-cpp's bad conversion
      // (found by fuzz/config_fuzzer).
      if (!item.first.IsScalar()) {
        Fail("config key '" + (path.empty() ? std::string("<root>") : path) +
             "' holds a key that is not a plain name: '" + config_detail::Dump(item.first) + "'");
      }
      const std::string& key = item.first.Scalar();
      if (!reader.seen().count(key)) {
        Fail("unknown config key '" + config_detail::Join(path, key) + "'");
      }
    }
  }
  if constexpr (config_detail::HasValidate<C>::value) config.Validate();
}

template <class C>
YAML::Node ConfigToYaml(const C& config) {
  YamlFieldWriter writer;
  const_cast<C&>(config).Fields(writer);
  return writer.node();
}

// One-line (flow style) rendering for log lines.
template <class C>
std::string ConfigToString(const C& config) {
  YAML::Emitter out;
  out << YAML::Flow << ConfigToYaml(config);
  return out.c_str();
}

// Block-style rendering, e.g. for <exp>/config.yaml.
std::string YamlToString(const YAML::Node& node);

// Sets `dotted.key` in `root` to `value` parsed as YAML ("0.1", "[15, 25]", "true", "sgd").
void ApplyOverride(YAML::Node& root, const std::string& dotted_key, const std::string& value);

// Parses ["--a.b=c", "--d.e", "f", ...] into overrides on `root`. Throws on anything else.
void ApplyOverrides(YAML::Node& root, const std::vector<std::string>& args);

// Loads a YAML file (an empty path gives an empty map); errors name the file and line.
YAML::Node LoadYamlFile(const std::string& path);

}  // namespace speakernet
