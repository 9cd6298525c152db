// docs/embedding.md shows docs/examples/embed.cc verbatim (ctest's embed_example builds
// and runs that file and checks its output).
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace burnrate {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(EmbeddingDocTest, ThePageShowsTheTestedProgramVerbatim) {
  const std::string program = ReadFile(BURNRATE_DOCS_DIR "/examples/embed.cc");
  const std::string page = ReadFile(BURNRATE_DOCS_DIR "/embedding.md");
  ASSERT_FALSE(program.empty());
  EXPECT_NE(page.find("```cpp\n" + program + "```\n"), std::string::npos);
}

}  // namespace
}  // namespace burnrate
