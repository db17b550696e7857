// The container image's runtime stage (Containerfile) installs a Debian
// package for every shared library the kubelake binary links directly
// (readelf's NEEDED entries, mapped to packages with dpkg -S), so an image
// built by scripts/image starts. Building the image itself takes minutes and
// is left to scripts/image. Skips where readelf or dpkg are missing.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"

namespace kl::cli {
namespace {

std::string Capture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

TEST(ImageDepsTest, RuntimeStageInstallsEveryLinkedLibrary) {
  if (std::system("command -v readelf >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs readelf and dpkg";
  }
  std::string binary = JoinPath(testing::BinaryDir(), "src/cli/kubelake");
  ASSERT_TRUE(FileExists(binary));
  KL_ASSERT_OK_AND_ASSIGN(std::string containerfile, ReadFile(JoinPath(testing::SourceDir(), "Containerfile")));
  // The runtime stage: after the last FROM.
  std::string runtime = containerfile.substr(containerfile.rfind("\nFROM "));
  std::set<std::string> installed;
  for (const std::string& word : Split(runtime, ' ', true)) {
    std::string w(Trim(word));
    if (!w.empty() && w.back() == '\\') w.pop_back();
    installed.insert(std::string(Trim(w)));
  }
  // In every Debian base (essential and required packages of minbase).
  const std::set<std::string> base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"};
  std::string needed = Capture("readelf -d " + binary + " | sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/\\1/p'");
  size_t checked = 0;
  for (const std::string& lib : Split(needed, '\n', true)) {
    std::string path = Capture("ldconfig -p | awk '$1 == \"" + lib + "\" {print $NF; exit}'");
    path = std::string(Trim(path));
    ASSERT_FALSE(path.empty()) << lib << " not found by ldconfig";
    // By file name: with merged /usr, dpkg may know the file under /lib or /usr/lib.
    std::string owner = Capture("r=$(readlink -f " + path +
                                "); dpkg -S \"*/$(basename $(dirname $r))/$(basename $r)\" "
                                "2>/dev/null | head -1 | cut -d: -f1");
    owner = std::string(Trim(owner));
    ASSERT_FALSE(owner.empty()) << lib << " (" << path << ") belongs to no package";
    ++checked;
    if (base.count(owner) != 0) continue;
    EXPECT_EQ(installed.count(owner), 1u)
        << lib << " comes from " << owner << ", which the Containerfile's runtime stage does not install";
  }
  EXPECT_GE(checked, 10u);
}

}  // namespace
}  // namespace kl::cli
