// The interactive prompt's line editing and history, through libedit's readline interface
// (Debian's libedit-dev, BSD licence). The only file that includes it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/query_command.h"

// libedit's header needs FILE declared first.
#include <editline/readline.h>

namespace burnrate {
namespace {

// Lines kept in the history file.
constexpr int kHistoryLines = 1000;

std::string& HistoryPath() {
  static auto* path = new std::string;
  return *path;
}

}  // namespace

bool ReadEditedLine(const char* prompt, std::string* line) {
  char* text = readline(prompt);
  if (text == nullptr) return false;
  line->assign(text);
  std::free(text);
  return true;
}

void LoadHistory(const std::string& path) {
  rl_readline_name = "burnrate";
  using_history();
  stifle_history(kHistoryLines);
  HistoryPath() = path;
  if (!path.empty()) read_history(path.c_str());
}

void AddHistoryLine(const std::string& line) {
  add_history(line.c_str());
  const std::string& path = HistoryPath();
  if (path.empty()) return;
  // Written whole each time: the file stays valid whichever way the session ends.
  if (write_history(path.c_str()) == 0) history_truncate_file(path.c_str(), kHistoryLines);
}

}  // namespace burnrate
