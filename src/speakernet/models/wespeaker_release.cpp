#include "speakernet/models/wespeaker_release.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/models/torch_save_reader.h"

namespace speakernet {

namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::pair<std::string, std::vector<int64_t>>>& ResNetDepths() {
  static const std::map<std::string, std::pair<std::string, std::vector<int64_t>>> depths{
      {"ResNet18", {"basic", {2, 2, 2, 2}}},          {"ResNet34", {"basic", {3, 4, 6, 3}}},
      {"ResNet50", {"bottleneck", {3, 4, 6, 3}}},     {"ResNet101", {"bottleneck", {3, 4, 23, 3}}},
      {"ResNet152", {"bottleneck", {3, 8, 36, 3}}},   {"ResNet221", {"bottleneck", {6, 16, 48, 3}}},
      {"ResNet293", {"bottleneck", {10, 20, 64, 3}}},
  };
  return depths;
}

const std::map<std::string, std::pair<int64_t, bool>>& EcapaVariants() {  // channels, GLOB
  static const std::map<std::string, std::pair<int64_t, bool>> variants{
      {"ECAPA_TDNN_c512", {512, false}},
      {"ECAPA_TDNN_GLOB_c512", {512, true}},
      {"ECAPA_TDNN_c1024", {1024, false}},
      {"ECAPA_TDNN_GLOB_c1024", {1024, true}},
  };
  return variants;
}

std::string SupportedNames() {
  std::vector<std::string> names;
  for (const auto& kv : ResNetDepths()) names.push_back(kv.first);
  for (const auto& kv : EcapaVariants()) names.push_back(kv.first);
  names.push_back("CAMPPlus");
  return fmt::format("{}", fmt::join(names, ", "));
}

// Reads `node`'s scalar as T, or fails naming the file and key.
template <class T>
T Get(const YAML::Node& node, const std::string& file, const std::string& key) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    Fail(fmt::format("{}: key '{}': cannot use '{}' (wrong type)", file, key, YAML::Dump(node)));
  }
}

// The mapping `parent[key]` (`where` names it in errors): an empty one when absent or null,
// anything else than a mapping fails.
YAML::Node Mapping(const YAML::Node& parent, const char* key, const std::string& file,
                   const std::string& where) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) return YAML::Node(YAML::NodeType::Map);
  SN_CHECK(node.IsMap(), "{}: '{}' must be a mapping, got '{}'", file, where, YAML::Dump(node));
  return node;
}

// Every key of the mapping `node` must be in `known`.
void CheckKeys(const YAML::Node& node, const std::set<std::string>& known, const std::string& file,
               const std::string& where, const std::string& what) {
  for (const auto& kv : node) {
    SN_CHECK(kv.first.IsScalar(), "{}: '{}' has a key that is not a name: '{}'", file, where,
             YAML::Dump(kv.first));
    const auto key = kv.first.Scalar();
    SN_CHECK(known.count(key) > 0, "{}: unknown key '{}.{}' for {} (known: {})", file, where, key,
             what, fmt::join(known, ", "));
  }
}

WeSpeakerPoolingConfig Pooling(const YAML::Node& args, const std::string& file,
                               const std::string& fallback) {
  WeSpeakerPoolingConfig p;
  p.type = args["pooling_func"]
               ? Get<std::string>(args["pooling_func"], file, "model_args.pooling_func")
               : fallback;
  SN_CHECK(p.type == "TSTP" || p.type == "TAP" || p.type == "TSDP" || p.type == "ASTP",
           "{}: model_args.pooling_func '{}' is not supported (TSTP, TAP, TSDP, ASTP)", file,
           p.type);
  return p;
}

// model + model_args -> ModelConfig.
ModelConfig ModelFromYaml(const std::string& name, const YAML::Node& args,
                          const std::string& file) {
  ModelConfig m;
  std::set<std::string> known{"feat_dim", "embed_dim", "pooling_func"};
  if (const auto it = ResNetDepths().find(name); it != ResNetDepths().end()) {
    known.insert("two_emb_layer");
    CheckKeys(args, known, file, "model_args", name);
    m.type = "wespeaker_resnet";
    m.wespeaker_resnet.block = it->second.first;
    m.wespeaker_resnet.layers = it->second.second;
    m.wespeaker_resnet.pooling = Pooling(args, file, "TSTP");
    if (args["two_emb_layer"]) {
      m.wespeaker_resnet.two_emb_layer =
          Get<bool>(args["two_emb_layer"], file, "model_args.two_emb_layer");
    }
  } else if (const auto ec = EcapaVariants().find(name); ec != EcapaVariants().end()) {
    known.insert("emb_bn");
    CheckKeys(args, known, file, "model_args", name);
    m.type = "wespeaker_ecapa";
    m.wespeaker_ecapa.channels = ec->second.first;
    m.wespeaker_ecapa.pooling = Pooling(args, file, "ASTP");
    m.wespeaker_ecapa.pooling.global_context_att = ec->second.second;
    if (args["emb_bn"])
      m.wespeaker_ecapa.emb_bn = Get<bool>(args["emb_bn"], file, "model_args.emb_bn");
  } else if (name == "CAMPPlus") {
    known.insert({"growth_rate", "bn_size", "init_channels", "config_str"});
    CheckKeys(args, known, file, "model_args", name);
    m.type = "campplus";
    m.campplus.pooling = Pooling(args, file, "TSTP");
    auto& c = m.campplus;
    if (args["growth_rate"]) c.growth_rate = Get<int64_t>(args["growth_rate"], file, "growth_rate");
    if (args["bn_size"]) c.bn_size = Get<int64_t>(args["bn_size"], file, "bn_size");
    if (args["init_channels"]) {
      c.init_channels = Get<int64_t>(args["init_channels"], file, "init_channels");
    }
    if (args["config_str"]) {
      const auto s = Get<std::string>(args["config_str"], file, "model_args.config_str");
      SN_CHECK(s == "batchnorm-relu",
               "{}: model_args.config_str '{}' is not supported "
               "(only batchnorm-relu)",
               file, s);
    }
  } else {
    Fail(fmt::format("{}: model '{}' is not a supported WeSpeaker architecture (supported: {})",
                     file, name, SupportedNames()));
  }
  if (args["feat_dim"]) m.feat_dim = Get<int64_t>(args["feat_dim"], file, "model_args.feat_dim");
  if (args["embed_dim"]) m.emb_dim = Get<int64_t>(args["embed_dim"], file, "model_args.embed_dim");
  return m;
}

WeSpeakerFbankArgs FbankFromYaml(const YAML::Node& dataset, const std::string& file) {
  WeSpeakerFbankArgs f;
  if (dataset["frontend"]) {
    const auto frontend = Get<std::string>(dataset["frontend"], file, "dataset_args.frontend");
    SN_CHECK(frontend == "fbank", "{}: dataset_args.frontend '{}' is not supported (only fbank)",
             file, frontend);
  }
  SN_CHECK(!dataset["mfcc_args"] || dataset["fbank_args"],
           "{}: dataset_args.mfcc_args: MFCC front ends are not supported (only fbank_args)", file);
  if (dataset["resample_rate"]) {
    f.sample_rate = Get<int>(dataset["resample_rate"], file, "dataset_args.resample_rate");
  }
  if (dataset["num_frms"]) f.num_frms = Get<int64_t>(dataset["num_frms"], file, "num_frms");
  const YAML::Node fb = Mapping(dataset, "fbank_args", file, "dataset_args.fbank_args");
  CheckKeys(fb, {"num_mel_bins", "frame_length", "frame_shift", "dither"}, file,
            "dataset_args.fbank_args", "the fbank front end");
  if (fb["num_mel_bins"]) f.num_mel_bins = Get<int>(fb["num_mel_bins"], file, "num_mel_bins");
  if (fb["frame_length"]) f.frame_length_ms = Get<double>(fb["frame_length"], file, "frame_length");
  if (fb["frame_shift"]) f.frame_shift_ms = Get<double>(fb["frame_shift"], file, "frame_shift");
  if (fb["dither"]) f.dither = Get<double>(fb["dither"], file, "fbank_args.dither");
  return f;
}

WeSpeakerProjectionArgs ProjectionFromYaml(const YAML::Node& root, const std::string& file) {
  WeSpeakerProjectionArgs p;
  const YAML::Node args = Mapping(root, "projection_args", file, "projection_args");
  if (args["project_type"]) {
    p.project_type = Get<std::string>(args["project_type"], file, "projection_args.project_type");
  }
  if (args["scale"]) p.scale = Get<double>(args["scale"], file, "projection_args.scale");
  const YAML::Node margin = Mapping(root, "margin_update", file, "margin_update");
  if (margin["final_margin"]) {
    p.final_margin = Get<double>(margin["final_margin"], file, "margin_update.final_margin");
  }
  return p;
}

}  // namespace

WeSpeakerRelease ReadWeSpeakerReleaseConfig(const std::string& config_yaml) {
  SN_CHECK(fs::is_regular_file(config_yaml), "WeSpeaker release: '{}' does not exist", config_yaml);
  YAML::Node root;
  try {
    root = YAML::LoadFile(config_yaml);
  } catch (const YAML::Exception& e) {
    Fail(fmt::format("{}: not valid YAML: {}", config_yaml, e.what()));
  }
  SN_CHECK(root.IsMap() && root["model"], "{}: no 'model' key (the WeSpeaker architecture name)",
           config_yaml);
  WeSpeakerRelease r;
  try {
    r.architecture = Get<std::string>(root["model"], config_yaml, "model");
    r.model = ModelFromYaml(r.architecture, Mapping(root, "model_args", config_yaml, "model_args"),
                            config_yaml);
    r.fbank =
        FbankFromYaml(Mapping(root, "dataset_args", config_yaml, "dataset_args"), config_yaml);
    r.projection = ProjectionFromYaml(root, config_yaml);
  } catch (const YAML::Exception& e) {  // the checks above should leave none; a last guard
    Fail(fmt::format("{}: cannot read the WeSpeaker config: {}", config_yaml, e.what()));
  }
  SN_CHECK(r.fbank.num_mel_bins == r.model.feat_dim,
           "{}: dataset_args.fbank_args.num_mel_bins {} differs from model_args.feat_dim {}",
           config_yaml, r.fbank.num_mel_bins, r.model.feat_dim);
  r.model.Validate();
  return r;
}

WeSpeakerRelease ReadWeSpeakerRelease(const std::string& dir) {
  SN_CHECK(fs::is_directory(dir), "WeSpeaker release directory '{}' does not exist", dir);
  WeSpeakerRelease r = ReadWeSpeakerReleaseConfig((fs::path(dir) / "config.yaml").string());
  r.dir = dir;
  const std::string weights = (fs::path(dir) / "avg_model.pt").string();
  SN_CHECK(fs::is_regular_file(weights), "WeSpeaker release: '{}' does not exist", weights);
  for (auto& [name, tensor] : ReadTorchSaveStateDict(weights)) {
    const std::string key = name.rfind("module.", 0) == 0 ? name.substr(7) : name;
    if (key.rfind("projection.", 0) == 0) {
      if (key == "projection.weight" && tensor.dim() >= 1) r.projection_rows = tensor.size(0);
      continue;
    }
    if (key == "conv.weight" && r.model.type == "wespeaker_ecapa" && tensor.dim() == 3) {
      r.model.wespeaker_ecapa.conv_out_channels = tensor.size(0);
    }
    r.encoder.emplace_back(key, tensor);
  }
  return r;
}

}  // namespace speakernet
