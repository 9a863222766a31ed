#include "speakernet/common/config.h"

#include <fstream>

namespace speakernet {
namespace config_detail {

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string Dump(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

void CheckValueText(const YAML::Node& node, const std::string& path) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      SN_CHECK(!node[i].IsNull(), "config key '{}': element {} of '{}' is empty", path, i + 1,
               config_detail::Dump(node));
      CheckValueText(node[i], path);
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) CheckValueText(kv.second, path);
  } else if (node.IsScalar()) {
    for (const char c : node.Scalar()) {
      const auto u = static_cast<unsigned char>(c);
      SN_CHECK(u >= 0x20 || c == '\t' || c == '\n',
               "config key '{}': '{}' holds the control character 0x{:02x}", path,
               config_detail::Dump(node), u);
    }
  }
}

}  // namespace config_detail

std::string YamlToString(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

void ApplyOverride(YAML::Node& root, const std::string& dotted_key, const std::string& value) {
  SN_CHECK(!dotted_key.empty(), "empty override key (expected --section.key=value)");
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node current;
  current.reset(root);
  std::string::size_type start = 0;
  while (true) {
    const auto dot = dotted_key.find('.', start);
    const std::string key = dotted_key.substr(start, dot - start);
    SN_CHECK(!key.empty(), "malformed override key '{}'", dotted_key);
    SN_CHECK(current.IsMap() || current.IsNull(), "override '{}': '{}' is not a section",
             dotted_key, dotted_key.substr(0, start ? start - 1 : 0));
    if (dot == std::string::npos) {
      YAML::Node parsed;
      try {
        parsed = YAML::Load(value);
      } catch (const YAML::Exception& e) {
        Fail(
            fmt::format("override '{}': cannot parse value '{}': {}", dotted_key, value, e.what()));
      }
      current[key] = parsed;
      return;
    }
    YAML::Node next = current[key];
    if (!next || next.IsNull()) {
      current[key] = YAML::Node(YAML::NodeType::Map);
      next = current[key];
    }
    current.reset(next);
    start = dot + 1;
  }
}

void ApplyOverrides(YAML::Node& root, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    SN_CHECK(arg.rfind("--", 0) == 0 && arg.size() > 2,
             "unexpected argument '{}' (config overrides look like --section.key=value)", arg);
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
      ApplyOverride(root, arg.substr(2, eq - 2), arg.substr(eq + 1));
    } else {
      SN_CHECK(i + 1 < args.size(), "override '{}' has no value", arg);
      ApplyOverride(root, arg.substr(2), args[++i]);
    }
  }
}

YAML::Node LoadYamlFile(const std::string& path) {
  if (path.empty()) return YAML::Node(YAML::NodeType::Map);
  std::ifstream in(path);
  SN_CHECK(in.good(), "cannot open config file '{}'", path);
  try {
    YAML::Node node = YAML::Load(in);
    if (!node || node.IsNull()) return YAML::Node(YAML::NodeType::Map);
    SN_CHECK(node.IsMap(), "config file '{}' must contain a YAML map at the top level", path);
    return node;
  } catch (const YAML::ParserException& e) {
    Fail(fmt::format("config file '{}', line {}, column {}: {}", path, e.mark.line + 1,
                     e.mark.column + 1, e.msg));
  }
}

}  // namespace speakernet
