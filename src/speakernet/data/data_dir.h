// A Kaldi-style data directory, validated once at load time so that later stages (chunk
// loading, extraction) can trust every id and path.
//
// Files (all "key fields..." text tables, see common/text_table.h):
//   wav.scp   required. One of speaker-net's forms (spec section 2.1; audio/audio_reader.h):
//               `id path`                      a file (must exist);
//               `id path start end`            samples [start, end) of the file at its own rate
//                                              (integers, 0 <= start < end <= file length; the
//                                              header is read at load to check the end and to
//                                              give the duration);
//               `id sox f1 f2 ... -t wav - |`  the files concatenated (each must exist; read
//                                              natively, without sox);
//               `id command ... |`             any pipe whose stdout is audio.
//             With a segments file the ids are recording ids, otherwise utterance ids. A pipe's
//             or range's words are re-joined with single spaces into Utterance::wav.
//   segments  optional. `utt recording start end` in seconds: utterances are then those
//             segments of the wav.scp recordings. A recording given as `path start end` cannot
//             be segmented (an error naming both lines): one utterance, one cut.
//   utt2spk   required for training, optional otherwise: when neither utt2spk nor spk2utt exists
//             every utterance is its own speaker (speaker = utterance id), which is what
//             embedding extraction needs. HasSpeakerLabels() tells the two cases apart.
//   spk2utt   optional; derived from utt2spk when absent. When both exist they must agree.
//             When only spk2utt exists, utt2spk is derived from it.
//   utt2dur   optional durations in seconds; EnsureDurations() probes the audio otherwise. A
//             sample range keeps its exact length; an entry more than 10 ms off is an error.
//   utt2lang  optional `utt language` (one word), the language of each utterance, which the
//             paired sampler needs (speaker-net's chunk2lang; chunks inherit it). When present
//             it must name every utterance exactly once.
// Every validation error names `file:line`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace speakernet {

struct Utterance {
  std::string id;
  std::string wav;  // audio spec from wav.scp: `path`, `path start end` or a pipe ending in '|'
  std::string speaker;
  double start = -1, end = -1;  // seconds within the recording, from segments; -1 = whole file
  double duration = -1;         // seconds; -1 = unknown (see DataDir::EnsureDurations)
  std::string recording;        // wav.scp key (equals id without segments)
  std::string language;         // from utt2lang; empty when the data dir has none

  bool IsSegment() const { return start >= 0; }
};

class DataDir {
 public:
  // Reads and validates `dir`. Throws Error naming file:line on any inconsistency.
  static DataDir Load(const std::string& dir);

  // In wav.scp order (segments order with a segments file).
  const std::vector<Utterance>& utterances() const { return utts_; }
  // Sorted byte-wise (like `LC_ALL=C sort`); a speaker's index is its position here.
  const std::vector<std::string>& speakers() const { return speakers_; }
  // Throws Error for an unknown speaker.
  int SpeakerIndex(const std::string& spk) const;
  // Throws Error for an unknown utterance id.
  const Utterance& Find(const std::string& utt_id) const;
  // speaker -> utterance ids (in utterance order).
  std::map<std::string, std::vector<std::string>> Spk2Utt() const;
  // False when the directory had neither utt2spk nor spk2utt.
  bool HasSpeakerLabels() const { return has_speaker_labels_; }
  // True when the directory had an utt2lang file (then every Utterance::language is set).
  bool HasLanguages() const { return has_languages_; }
  // Fills unknown durations by probing audio headers (pipes are run), logging progress.
  void EnsureDurations();
  const std::string& dir() const { return dir_; }
  int64_t NumUtterances() const { return static_cast<int64_t>(utts_.size()); }

 private:
  std::string dir_;
  std::vector<Utterance> utts_;
  std::vector<std::string> speakers_;
  std::unordered_map<std::string, size_t> utt_index_;
  std::unordered_map<std::string, int> spk_index_;
  bool has_speaker_labels_ = false;
  bool has_languages_ = false;

  friend class DataDirLoader;
};

// Number of samples at `rate` that LoadUtteranceAudio(u, rate) returns, from u.duration (or the
// segment bounds). Throws Error when the duration is unknown.
int64_t UtteranceSamples(const Utterance& u, int rate);

// Reads `num` samples (-1 = to the end) from `offset` of the utterance, both counted at `rate`,
// honouring segment bounds. Errors are prefixed with the utterance id.
std::vector<float> LoadUtteranceAudio(const Utterance& u, int rate, int64_t offset = 0,
                                      int64_t num = -1);

}  // namespace speakernet
