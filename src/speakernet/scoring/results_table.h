// A results table like speaker-net's `.results` files: one row per scoring stage (cosine,
// submean, asnorm, qmf, or any label), one column group per trial list, each cell
// "EER% │ minDCF" with the minDCF at each requested target prior (speaker-net's "%.3f │ %.4f").
#pragma once

#include <string>
#include <vector>

#include "speakernet/scoring/metrics.h"

namespace speakernet {

struct ResultCell {
  double eer_percent = 0;
  std::vector<double> min_dcf;  // one per p_target of the table
};

// Metrics of `scores` for the table's target priors.
ResultCell MakeResultCell(const std::vector<double>& scores, const std::vector<int>& labels,
                          const std::vector<double>& p_targets);

class ResultsTable {
 public:
  explicit ResultsTable(std::vector<double> p_targets = {0.01});
  // Sets the cell of (row, column); rows and columns appear in first-use order.
  void Set(const std::string& row, const std::string& column, const ResultCell& cell);
  // Declares a column (a trial list) at the next position if it is new, so a fixed layout (e.g.
  // speaker-net's 8 lists) keeps its order and shows "-" for lists that were not scored.
  void AddColumn(const std::string& column);
  // Fixed-width text: a header with the trial lists and "EER% │ minDCF(p)" labels, then one line
  // per row; a missing cell is "-".
  std::string Format() const;
  const std::vector<double>& p_targets() const { return p_targets_; }

 private:
  std::vector<double> p_targets_;
  std::vector<std::string> rows_, columns_;
  std::vector<std::pair<std::pair<size_t, size_t>, ResultCell>> cells_;
};

}  // namespace speakernet
