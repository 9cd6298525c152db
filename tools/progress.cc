#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace burnrate {

TerminalProgress::TerminalProgress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)), total_(total), active_(enabled && isatty(STDERR_FILENO) == 1) {}

TerminalProgress::~TerminalProgress() { Finish(); }

void TerminalProgress::Update(uint64_t done) {
  if (!active_ || total_ == 0) return;
  const int percent = static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  std::fprintf(stderr, "\r%s: %s / %s points (%d%%)\033[K", label_.c_str(),
               WithThousands(done).c_str(), WithThousands(total_).c_str(), percent);
  std::fflush(stderr);
}

void TerminalProgress::Finish() {
  if (!active_) return;
  if (last_percent_ >= 0) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  active_ = false;
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace burnrate
