#include "mailbox/folder_name.h"

#include <stdexcept>

#include "jobs/maildir_folder.h"

namespace junction::mailbox {

std::string maildir_folder_name(std::string_view folder) {
  auto result = jobs::maildir_folder_name(folder);
  if (!result.name) {
    throw std::invalid_argument("maildir: folder name \"" + std::string(folder) + "\" " +
                                result.error);
  }
  return std::move(*result.name);
}

std::optional<std::string> folder_from_maildir_name(std::string_view name) {
  return jobs::folder_from_maildir_name(name);
}

}  // namespace junction::mailbox
