#include "speakernet/common/text_table.h"

#include <fstream>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
}  // namespace

std::vector<std::string> SplitWhitespace(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<TextLine> ReadTextTable(const std::string& path, int min_fields, int max_fields) {
  std::ifstream in(path);
  SN_CHECK(in.is_open(), "cannot open {}", path);
  std::vector<TextLine> lines;
  std::string text;
  int line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    auto tokens = SplitWhitespace(text);
    if (tokens.empty()) continue;
    const int n = static_cast<int>(tokens.size()) - 1;
    SN_CHECK(n >= min_fields, "{}:{}: expected at least {} field(s) after the key, got {}: '{}'",
             path, line_no, min_fields, n, text);
    SN_CHECK(max_fields < 0 || n <= max_fields,
             "{}:{}: expected at most {} field(s) after the key, got {}: '{}'", path, line_no,
             max_fields, n, text);
    TextLine line;
    line.key = std::move(tokens[0]);
    line.fields.assign(std::make_move_iterator(tokens.begin() + 1),
                       std::make_move_iterator(tokens.end()));
    line.line_no = line_no;
    lines.push_back(std::move(line));
  }
  SN_CHECK(!in.bad(), "error reading {}", path);
  return lines;
}

}  // namespace speakernet
