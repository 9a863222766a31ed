#include "speakernet/backend/qmf_calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "speakernet/backend/cosine_scoring.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

double ParseDouble(const std::string& s, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SN_CHECK(used == s.size() && std::isfinite(v), "{}: '{}' is not a finite number", where, s);
  return v;
}

void CheckColumns(const std::vector<std::vector<double>>& systems, const QualityFeatures& quality,
                  size_t n, const char* who) {
  SN_CHECK(!systems.empty(), "{}: no score systems", who);
  for (size_t s = 0; s < systems.size(); ++s) {
    SN_CHECK(systems[s].size() == n, "{}: system #{} has {} scores for {} trials", who, s + 1,
             systems[s].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(systems[s][t]), "{}: system #{} trial #{} has score {}", who, s + 1,
               t + 1, systems[s][t]);
    }
  }
  SN_CHECK(quality.names.size() == quality.columns.size(), "{}: {} quality names for {} columns",
           who, quality.names.size(), quality.columns.size());
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    SN_CHECK(quality.columns[j].size() == n, "{}: quality '{}' has {} values for {} trials", who,
             quality.names[j], quality.columns[j].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(quality.columns[j][t]), "{}: quality '{}' trial #{} is {}", who,
               quality.names[j], t + 1, quality.columns[j][t]);
    }
  }
}

// [n, k] float64 tensor holding the columns.
torch::Tensor Stack(const std::vector<std::vector<double>>& cols, size_t n) {
  torch::Tensor x = torch::empty({static_cast<int64_t>(n), static_cast<int64_t>(cols.size())},
                                 torch::kDouble);
  double* p = x.data_ptr<double>();
  for (size_t j = 0; j < cols.size(); ++j) {
    for (size_t t = 0; t < n; ++t) p[t * cols.size() + j] = cols[j][t];
  }
  return x;
}

}  // namespace

void QualityFeatures::Append(const QualityFeatures& other) {
  SN_CHECK(columns.empty() || other.columns.empty() || other.trials() == trials(),
           "quality features: {} trials cannot be joined with {}", other.trials(), trials());
  names.insert(names.end(), other.names.begin(), other.names.end());
  columns.insert(columns.end(), other.columns.begin(), other.columns.end());
}

std::vector<std::string> ParseQualityMeasures(const std::string& list) {
  std::string s = list;
  std::replace(s.begin(), s.end(), ',', ' ');
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& name : SplitWhitespace(s)) {
    SN_CHECK(name == "duration" || name == "embedding" || name == "imposter",
             "unknown quality measure '{}' (expected duration, embedding or imposter)", name);
    SN_CHECK(seen.insert(name).second, "quality measure '{}' is listed twice in '{}'", name, list);
    out.push_back(name);
  }
  return out;
}

Durations ReadUtt2Dur(const std::string& path) {
  Durations d;
  for (const TextLine& line : ReadTextTable(path, 1, 1)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const double v = ParseDouble(line.fields[0], where);
    SN_CHECK(v >= 0, "{}: negative duration {}", where, v);
    SN_CHECK(d.emplace(line.key, v).second, "{}: utterance '{}' is listed twice", where, line.key);
  }
  return d;
}

QualityFeatures DurationQuality(const std::vector<Trial>& trials, const Durations& durations,
                                const std::string& source) {
  QualityFeatures q;
  q.names = {"duration_short", "duration_long"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  auto get = [&](const std::string& utt, size_t t) {
    const auto it = durations.find(utt);
    SN_CHECK(it != durations.end(), "trial #{} ('{}' '{}'): no duration for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, utt, source);
    return it->second;
  };
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = get(trials[t].enroll, t), b = get(trials[t].test, t);
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures EmbeddingQuality(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean) {
  SN_CHECK(mean == nullptr || static_cast<int64_t>(mean->size()) == table.dim(),
           "embedding quality: mean of dimension {} for embeddings of dimension {} in {}",
           mean ? mean->size() : 0, table.dim(), table.source());
  std::vector<double> norm(table.size(), -1.0);
  auto norm_of = [&](const std::string& id, size_t t) {
    const int64_t i = table.IndexOf(id);
    SN_CHECK(i >= 0, "trial #{} ('{}' '{}'): no embedding for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, id, table.source());
    double& n = norm[static_cast<size_t>(i)];
    if (n < 0) {
      const std::vector<float>& e = table.Row(static_cast<size_t>(i));
      double sq = 0;
      for (int64_t j = 0; j < table.dim(); ++j) {
        const double v = static_cast<double>(e[j]) - (mean ? (*mean)[j] : 0.0f);
        sq += v * v;
      }
      n = std::sqrt(sq);
    }
    return n;
  };
  QualityFeatures q;
  q.names = {"embedding_min_norm", "embedding_max_norm"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = norm_of(trials[t].enroll, t), b = norm_of(trials[t].test, t);
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures ImposterQuality(const NormalizedScores& normalized) {
  const size_t n = normalized.enroll_imposter.size();
  SN_CHECK(normalized.test_imposter.size() == n,
           "imposter quality: {} enroll but {} test values", n, normalized.test_imposter.size());
  QualityFeatures q;
  q.names = {"imposter_max", "imposter_min"};
  q.columns.assign(2, std::vector<double>(n));
  for (size_t t = 0; t < n; ++t) {
    q.columns[0][t] = std::max(normalized.enroll_imposter[t], normalized.test_imposter[t]);
    q.columns[1][t] = std::min(normalized.enroll_imposter[t], normalized.test_imposter[t]);
  }
  return q;
}

void WriteQuality(const std::string& path, const std::vector<Trial>& trials,
                  const QualityFeatures& quality) {
  SN_CHECK(quality.columns.empty() || quality.trials() == trials.size(),
           "{}: {} quality rows for {} trials", path, quality.trials(), trials.size());
  std::string out;
  out.reserve(trials.size() * 48);
  for (size_t t = 0; t < trials.size(); ++t) {
    out += trials[t].enroll;
    out += ' ';
    out += trials[t].test;
    for (const auto& col : quality.columns) out += fmt::format(" {:.6g}", col[t]);
    out += '\n';
  }
  WriteTextAtomically(path, out);
}

QualityFeatures ReadQuality(const std::string& path, const std::vector<Trial>& trials) {
  std::unordered_map<std::string, std::vector<double>> rows;
  int64_t width = -1;
  for (const TextLine& line : ReadTextTable(path, 2)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const int64_t k = static_cast<int64_t>(line.fields.size()) - 1;
    SN_CHECK(width < 0 || k == width, "{}: {} quality values, earlier lines have {}", where, k,
             width);
    width = k;
    std::vector<double> v(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) v[j] = ParseDouble(line.fields[j + 1], where);
    rows[ScoreKey(line.key, line.fields[0])] = std::move(v);
  }
  QualityFeatures q;
  for (int64_t j = 0; j < width; ++j) {
    q.names.push_back(fmt::format("{}:{}", path, j + 1));
    q.columns.emplace_back(trials.size());
  }
  for (size_t t = 0; t < trials.size(); ++t) {
    const auto it = rows.find(ScoreKey(trials[t].enroll, trials[t].test));
    SN_CHECK(it != rows.end(), "trial #{} ('{}' '{}') has no quality values in {}", t + 1,
             trials[t].enroll, trials[t].test, path);
    for (int64_t j = 0; j < width; ++j) q.columns[j][t] = it->second[j];
  }
  return q;
}

std::vector<double> Calibrator::Apply(const std::vector<std::vector<double>>& systems,
                                      const QualityFeatures& quality) const {
  SN_CHECK(systems.size() == weights.size(), "calibration: model has {} systems, got {}",
           weights.size(), systems.size());
  SN_CHECK(quality.columns.size() == quality_weights.size(),
           "calibration: model has {} quality features, got {}", quality_weights.size(),
           quality.columns.size());
  const size_t n = systems[0].size();
  CheckColumns(systems, quality, n, "calibration");
  std::vector<double> llr(n, bias);
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t t = 0; t < n; ++t) llr[t] += weights[s] * systems[s][t];
  }
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    for (size_t t = 0; t < n; ++t) llr[t] += quality_weights[j] * quality.columns[j][t];
  }
  return llr;
}

std::string Calibrator::Describe() const {
  std::string s = "llr =";
  for (size_t i = 0; i < weights.size(); ++i) s += fmt::format(" {:+.6g}*score{}", weights[i], i + 1);
  s += fmt::format(" {:+.6g}", bias);
  for (size_t j = 0; j < quality_weights.size(); ++j) {
    s += fmt::format(" {:+.6g}*{}", quality_weights[j],
                     j < quality_names.size() ? quality_names[j] : fmt::format("q{}", j + 1));
  }
  return s + fmt::format(" (training Cllr {:.4f}, {} LBFGS steps)", loss, steps);
}

Calibrator TrainCalibrator(const std::vector<std::vector<double>>& systems,
                           const QualityFeatures& quality, const std::vector<int>& labels,
                           const CalibrationOptions& options) {
  options.Validate();
  const size_t n = labels.size();
  CheckColumns(systems, quality, n, "calibration training");
  std::vector<int64_t> tar, non;
  for (size_t t = 0; t < n; ++t) {
    SN_CHECK(labels[t] == 0 || labels[t] == 1, "calibration training: trial #{} has label {}",
             t + 1, labels[t]);
    (labels[t] ? tar : non).push_back(static_cast<int64_t>(t));
  }
  SN_CHECK(!tar.empty() && !non.empty(),
           "calibration training needs target and non-target trials, got {} and {}", tar.size(),
           non.size());
  torch::NoGradGuard outer_no_grad;  // only the closure records the graph
  const torch::Tensor xs = Stack(systems, n);
  const torch::Tensor xq = Stack(quality.columns, n);
  const auto i64 = torch::TensorOptions().dtype(torch::kLong);
  const torch::Tensor tar_idx = torch::tensor(tar, i64), non_idx = torch::tensor(non, i64);
  const double k = static_cast<double>(systems.size());
  torch::Tensor w = torch::full({static_cast<int64_t>(systems.size())}, 1.0 / k, torch::kDouble)
                        .requires_grad_(true);
  torch::Tensor b = torch::zeros({1}, torch::kDouble).requires_grad_(true);
  torch::Tensor v = torch::zeros({static_cast<int64_t>(quality.columns.size())}, torch::kDouble)
                        .requires_grad_(true);
  auto loss_of = [&]() {
    torch::Tensor llr = torch::mv(xs, w) + b;
    if (v.numel() > 0) llr = llr + torch::mv(xq, v);
    return 0.5 *
           (torch::softplus(-llr.index_select(0, tar_idx)).mean() +
            torch::softplus(llr.index_select(0, non_idx)).mean()) /
           std::log(2.0);
  };
  std::vector<torch::Tensor> params = {w, b};
  if (v.numel() > 0) params.push_back(v);
  torch::optim::LBFGSOptions lbfgs(options.lr);
  lbfgs.max_iter(options.max_iter);
  if (options.line_search) lbfgs.line_search_fn("strong_wolfe");
  torch::optim::LBFGS optimizer(params, lbfgs);
  auto closure = [&]() {
    torch::AutoGradMode grad(true);
    optimizer.zero_grad();
    torch::Tensor loss = loss_of();
    loss.backward();
    return loss;
  };
  double prev = loss_of().item<double>();
  Calibrator cal;
  for (int64_t step = 0; step < options.max_steps; ++step) {
    optimizer.step(closure);
    const double cur = loss_of().item<double>();
    cal.steps = step + 1;
    SN_CHECK(std::isfinite(cur), "calibration training diverged (loss {}) at step {}", cur,
             step + 1);
    const bool done = prev - cur < options.tolerance;
    prev = cur;
    if (done) break;
  }
  cal.loss = prev;
  const double* pw = w.data_ptr<double>();
  cal.weights.assign(pw, pw + w.numel());
  cal.bias = b.item<double>();
  const double* pv = v.data_ptr<double>();
  cal.quality_weights.assign(pv, pv + v.numel());
  cal.quality_names = quality.names;
  return cal;
}

}  // namespace speakernet
