// Kaldi-style text tables (wav.scp, utt2spk, segments, ...): one record per line, a key and
// whitespace-separated fields. Parsing is shared so that every table reports errors the same way.
#pragma once

#include <string>
#include <vector>

namespace speakernet {

struct TextLine {
  std::string key;
  std::vector<std::string> fields;  // everything after the key
  int line_no = 0;                  // 1-based, for error messages
};

// Splits on runs of spaces, tabs, CR and LF; no empty tokens.
std::vector<std::string> SplitWhitespace(const std::string& s);

// Reads every non-blank line of `path` as key + fields. The field count (excluding the key)
// must lie in [min_fields, max_fields]; max_fields = -1 means no upper bound. Errors name
// `path:line`. A missing file is an error naming the path.
std::vector<TextLine> ReadTextTable(const std::string& path, int min_fields, int max_fields = -1);

}  // namespace speakernet
