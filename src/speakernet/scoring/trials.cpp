#include "speakernet/scoring/trials.h"

#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

std::vector<Trial> ReadTrials(const std::string& path) {
  std::vector<Trial> trials;
  for (auto& line : ReadTextTable(path, 1, 2)) {
    Trial t;
    if (line.fields.size() == 1) {
      t.enroll = std::move(line.key);
      t.test = std::move(line.fields[0]);
    } else {
      const std::string& last = line.fields[1];
      if (last == "target" || last == "nontarget") {
        t.enroll = std::move(line.key);
        t.test = std::move(line.fields[0]);
        t.target = last == "target" ? 1 : 0;
      } else if (line.key == "1" || line.key == "0") {
        t.target = line.key == "1" ? 1 : 0;
        t.enroll = std::move(line.fields[0]);
        t.test = std::move(line.fields[1]);
      } else {
        Fail(
            fmt::format("{}:{}: cannot tell the trial format of '{} {} {}': expected "
                        "'1|0 enroll test' or 'enroll test target|nontarget'",
                        path, line.line_no, line.key, line.fields[0], line.fields[1]));
      }
    }
    trials.push_back(std::move(t));
  }
  return trials;
}

std::vector<int> TrialLabels(const std::vector<Trial>& trials, const std::string& source) {
  SN_CHECK(!trials.empty(), "trial list '{}' is empty", source);
  std::vector<int> labels(trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    SN_CHECK(trials[i].target >= 0, "{}: trial #{} ('{}' '{}') has no target/nontarget label",
             source, i + 1, trials[i].enroll, trials[i].test);
    labels[i] = trials[i].target;
  }
  return labels;
}

TrialCounts CountTrials(const std::vector<Trial>& trials) {
  TrialCounts c;
  for (const Trial& t : trials) {
    if (t.target == 1) {
      ++c.target;
    } else if (t.target == 0) {
      ++c.nontarget;
    } else {
      ++c.unknown;
    }
  }
  return c;
}

}  // namespace speakernet
