// `kubelake demo` as a user runs it: a short first screen (the fault schedule in one line of
// counts), reports while the fleet churns, and at the end — churn and faults stopped, the
// warehouse caught up — a final report that equals the simulator's truth and says so.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"

namespace kl::cli {
namespace {

TEST(DemoCliTest, EndsWithAFinalReportThatEqualsTheTruth) {
  std::string binary = JoinPath(testing::BinaryDir(), "src/cli/kubelake");
  if (!FileExists(binary)) GTEST_SKIP() << binary << " not built";
  testing::TempDir dir;
  std::string out = dir.Sub("out");
  // Faults every ~4 s per cluster (downtime, compaction, deletions while away...) in 16 s.
  std::string cmd = binary + " demo --duration 16 --clusters 2 --nodes 5 --pods 120 --fault-interval 4 --seed 11" +
                    " --status-interval 6 --data-dir " + dir.Sub("data") + " >" + out + " 2>&1";
  int status = std::system(cmd.c_str());
  std::string text = ReadFile(out).value_or("");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;

  // The fault schedule is one short line of counts per kind.
  std::vector<std::string> lines = Split(text, '\n', false);
  std::vector<std::string> fault_lines;
  for (const auto& l : lines) {
    if (l.rfind("faults:", 0) == 0) fault_lines.push_back(l);
  }
  ASSERT_EQ(fault_lines.size(), 1u) << text;
  EXPECT_LT(fault_lines[0].size(), 160u) << fault_lines[0];
  EXPECT_NE(fault_lines[0].find(" faults ("), std::string::npos) << fault_lines[0];
  EXPECT_EQ(fault_lines[0].find('@'), std::string::npos) << "no schedule dump: " << fault_lines[0];

  // The final report comes after churn stopped, equals the truth, and says so.
  size_t stopping = text.find("Stopping churn and faults");
  size_t final_report = text.find("final report after");
  size_t equals = text.find("The warehouse equals the simulator's truth");
  ASSERT_NE(stopping, std::string::npos) << text;
  ASSERT_NE(final_report, std::string::npos) << text;
  ASSERT_NE(equals, std::string::npos) << text;
  EXPECT_LT(stopping, final_report);
  std::string final_section = text.substr(final_report, equals - final_report);
  EXPECT_EQ(final_section.find('*'), std::string::npos) << "a count behind the truth in the final report:\n"
                                                        << final_section;
  EXPECT_EQ(final_section.find("region ?"), std::string::npos) << final_section;
  // Nothing is printed after the final report but where the warehouse is.
  std::string after = text.substr(equals);
  EXPECT_EQ(after.find("== kubelake demo"), std::string::npos) << after;
}

}  // namespace
}  // namespace kl::cli
