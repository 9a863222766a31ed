#include "speakernet/training/model_package.h"

#include <yaml-cpp/yaml.h>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/models/torch_save_reader.h"
#include "speakernet/models/torch_save_writer.h"

namespace speakernet {

namespace {

const char* kFormatRecord = "speakernet/format";
const char* kConfigRecord = "speakernet/config.yaml";
const char* kMetaRecord = "speakernet/meta.yaml";

YAML::Node ParseRecord(const std::string& path, const std::string& name, const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Fail(fmt::format("model file '{}': record {} is not valid YAML: {}", path, name, e.what()));
  }
}

// The format record must be there and name this version.
void CheckFormat(const std::string& path, const std::map<std::string, std::string>& records) {
  const auto it = records.find(kFormatRecord);
  SN_CHECK(it != records.end(),
           "'{}' is not a speakernet model file (no {} record; a plain state dict or "
           "checkpoint? use `speakernet package` to make one)",
           path, kFormatRecord);
  std::string format = it->second;
  while (!format.empty() && (format.back() == '\n' || format.back() == ' ')) format.pop_back();
  SN_CHECK(format == kModelPackageFormat,
           "model file '{}' has format '{}'; this speakernet reads '{}'", path, format,
           kModelPackageFormat);
  SN_CHECK(records.count(kConfigRecord), "model file '{}' has no {} record", path, kConfigRecord);
  SN_CHECK(records.count(kMetaRecord), "model file '{}' has no {} record", path, kMetaRecord);
}

TrainConfig ReadPackagedConfig(const std::string& path, const std::string& text) {
  TrainConfig config;
  try {
    ReadConfig(ParseRecord(path, kConfigRecord, text), config);
  } catch (const Error& e) {
    Fail(fmt::format("model file '{}': {}: {}", path, kConfigRecord, e.what()));
  }
  return config;
}

}  // namespace

void WriteModelPackage(const std::string& path, const TrainedModel& model,
                       std::optional<double> threshold) {
  if (!threshold) threshold = model.threshold;
  YAML::Node meta;
  meta["embedding_dim"] = model.model->EmbeddingDim();
  meta["source"] = model.source;
  if (threshold) meta["threshold"] = *threshold;
  const ArchiveRecords extra = {{kFormatRecord, std::string(kModelPackageFormat) + "\n"},
                                {kConfigRecord, YamlToString(ConfigToYaml(model.config))},
                                {kMetaRecord, YamlToString(meta)}};
  WriteTextAtomically(path, TorchSaveBytes(GetStateDict(*model.model), extra));
}

TrainedModel ReadModelPackage(const std::string& path) {
  const auto records = ReadArchiveRecords(path, {kFormatRecord, kConfigRecord, kMetaRecord});
  CheckFormat(path, records);
  TrainedModel m;
  m.source = path;
  m.config = ReadPackagedConfig(path, records.at(kConfigRecord));
  const YAML::Node meta = ParseRecord(path, kMetaRecord, records.at(kMetaRecord));
  int64_t dim = 0;
  try {
    dim = meta["embedding_dim"].as<int64_t>();
    if (meta["threshold"]) m.threshold = meta["threshold"].as<double>();
  } catch (const YAML::Exception& e) {
    Fail(
        fmt::format("model file '{}': {} needs embedding_dim (an integer) and optionally "
                    "threshold (a number): {}",
                    path, kMetaRecord, e.what()));
  }
  m.model = CreateModel(m.config.model);
  try {
    LoadStateDict(*m.model, ReadTorchSaveStateDict(path));
  } catch (const Error& e) {
    Fail(fmt::format("model file '{}': the weights do not fit its model config: {}", path,
                     e.what()));
  }
  SN_CHECK(m.model->EmbeddingDim() == dim,
           "model file '{}': meta embedding_dim {} but the model's embeddings have {}", path, dim,
           m.model->EmbeddingDim());
  m.model->eval();
  return m;
}

}  // namespace speakernet
