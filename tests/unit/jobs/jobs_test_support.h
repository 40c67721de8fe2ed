// Shared pieces of the job tests: readable failure output and the "exactly once" check.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fake_mailbox.h"
#include "scripted_driver.h"

namespace junction::jobs::testing {

inline std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

// The last lines of a run's trace, for failure messages.
inline std::string tail(const drive_result& r, std::size_t n = 40) {
  std::vector<std::string> last(
      r.trace.size() > n ? r.trace.end() - static_cast<long>(n) : r.trace.begin(), r.trace.end());
  return join(last);
}

// Every expected message is in its folder exactly once, and nothing else is in the mailbox.
inline ::testing::AssertionResult exactly_once(
    const fake_mailbox& mailbox, const std::map<std::string, std::vector<std::string>>& expected) {
  std::size_t total = 0;
  for (const auto& [folder, contents] : expected) {
    for (std::size_t i = 0; i < contents.size(); ++i) {
      const std::size_t n = mailbox.count(folder, contents[i]);
      if (n != 1) {
        return ::testing::AssertionFailure()
               << "message #" << i << " of " << folder << " is in the mailbox " << n << " times";
      }
    }
    total += contents.size();
  }
  if (mailbox.messages().size() != total) {
    return ::testing::AssertionFailure()
           << "the mailbox holds " << mailbox.messages().size() << " messages, expected " << total;
  }
  return ::testing::AssertionSuccess();
}

inline const folder_summary* find_folder(const run_summary& s, const std::string& folder) {
  for (const auto& f : s.folders) {
    if (f.folder == folder) return &f;
  }
  return nullptr;
}

}  // namespace junction::jobs::testing
