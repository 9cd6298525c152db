#pragma once

#include <cstdint>
#include <string>

namespace burnrate {

// A one-line progress indicator on stderr ("label: 120,000 / 864,000 points (13%)"),
// redrawn in place. Silent unless stderr is a terminal, so logs and pipes stay clean.
// Not thread-safe; callers synchronise.
class TerminalProgress {
 public:
  TerminalProgress(std::string label, uint64_t total, bool enabled = true);
  ~TerminalProgress();
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // Redraws when the whole percentage changed since the last redraw.
  void Update(uint64_t done);
  // Erases the line; also done by the destructor.
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool active_;
  int last_percent_ = -1;
};

// 1234567 -> "1,234,567".
std::string WithThousands(uint64_t n);

}  // namespace burnrate
