#include "speakernet/scoring/results_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

size_t IndexOf(std::vector<std::string>& v, const std::string& s) {
  const auto it = std::find(v.begin(), v.end(), s);
  if (it != v.end()) return static_cast<size_t>(it - v.begin());
  v.push_back(s);
  return v.size() - 1;
}

// Display width: "│" is one column but three bytes.
size_t Width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string Pad(const std::string& s, size_t width) {
  return s + std::string(width > Width(s) ? width - Width(s) : 0, ' ');
}

}  // namespace

ResultCell MakeResultCell(const std::vector<double>& scores, const std::vector<int>& labels,
                          const std::vector<double>& p_targets) {
  ResultCell cell;
  for (size_t i = 0; i < p_targets.size(); ++i) {
    const DetMetrics m = ComputeMetrics(scores, labels, p_targets[i]);
    if (i == 0) cell.eer_percent = m.eer_percent;
    cell.min_dcf.push_back(m.min_dcf);
  }
  return cell;
}

ResultsTable::ResultsTable(std::vector<double> p_targets) : p_targets_(std::move(p_targets)) {
  SN_CHECK(!p_targets_.empty(), "results table: no target priors");
}

void ResultsTable::Set(const std::string& row, const std::string& column, const ResultCell& cell) {
  SN_CHECK(cell.min_dcf.size() == p_targets_.size(),
           "results table: cell ({}, {}) has {} minDCF values for {} priors", row, column,
           cell.min_dcf.size(), p_targets_.size());
  const size_t r = IndexOf(rows_, row), c = IndexOf(columns_, column);
  for (auto& [rc, value] : cells_) {
    if (rc == std::make_pair(r, c)) {
      value = cell;
      return;
    }
  }
  cells_.push_back({{r, c}, cell});
}

void ResultsTable::AddColumn(const std::string& column) { IndexOf(columns_, column); }

std::string ResultsTable::Format() const {
  // Sub-fields (EER, then minDCF per prior) line up under their headers in every column.
  std::vector<std::string> heads{"EER%"};
  for (double p : p_targets_) heads.push_back(fmt::format("minDCF({:g})", p));
  std::map<std::pair<size_t, size_t>, std::vector<std::string>> fields;
  std::vector<size_t> field_width(heads.size());
  for (size_t i = 0; i < heads.size(); ++i) field_width[i] = Width(heads[i]);
  for (const auto& [rc, cell] : cells_) {
    std::vector<std::string>& f = fields[rc];
    f.push_back(fmt::format("{:.3f}", cell.eer_percent));
    for (double d : cell.min_dcf) f.push_back(fmt::format("{:.4f}", d));
    for (size_t i = 0; i < f.size() && i < field_width.size(); ++i) {
      field_width[i] = std::max(field_width[i], Width(f[i]));
    }
  }
  auto join = [&](const std::vector<std::string>& parts) {
    std::string s;
    for (size_t i = 0; i < parts.size(); ++i) {
      s += (i ? " │ " : "") + (i < field_width.size() ? Pad(parts[i], field_width[i]) : parts[i]);
    }
    return s;
  };
  const std::string unit = join(heads);
  std::vector<std::vector<std::string>> text(rows_.size(),
                                             std::vector<std::string>(columns_.size(), "-"));
  for (const auto& [rc, f] : fields) text[rc.first][rc.second] = join(f);
  size_t first = std::string("stage").size();
  for (const auto& r : rows_) first = std::max(first, Width(r));
  std::vector<size_t> width(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    width[c] = std::max(Width(columns_[c]), Width(unit));
    for (size_t r = 0; r < rows_.size(); ++r) width[c] = std::max(width[c], Width(text[r][c]));
  }
  std::string out = Pad("", first);
  for (size_t c = 0; c < columns_.size(); ++c) out += " ┃ " + Pad(columns_[c], width[c]);
  out += "\n" + Pad("stage", first);
  for (size_t c = 0; c < columns_.size(); ++c) out += " ┃ " + Pad(unit, width[c]);
  out += "\n";
  for (size_t r = 0; r < rows_.size(); ++r) {
    out += Pad(rows_[r], first);
    for (size_t c = 0; c < columns_.size(); ++c) out += " ┃ " + Pad(text[r][c], width[c]);
    out += "\n";
  }
  // No trailing blanks (the last column is padded too).
  std::string trimmed;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    std::string line = out.substr(start, end - start);
    line.erase(line.find_last_not_of(' ') + 1);
    trimmed += line + "\n";
    start = end + 1;
  }
  return trimmed;
}

}  // namespace speakernet
