// serve::mailbox_service over each user's Maildir++ at DATA/users/<id>/mailbox.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>

#include "serve/services.h"

namespace junction::serve {

class maildir_service final : public mailbox_service {
 public:
  explicit maildir_service(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  static std::filesystem::path user_dir(const std::filesystem::path& data_dir,
                                        std::int64_t user_id);

  nlohmann::json folders(std::int64_t user_id) override;
  std::optional<std::vector<message_entry>> messages(std::int64_t user_id,
                                                     const std::string& folder, int page,
                                                     int page_size, std::uint64_t* total) override;
  std::optional<std::string> raw(std::int64_t user_id, const std::string& id) override;
  std::string append(std::int64_t user_id, const std::string& folder, std::string_view message,
                     std::string_view key, unsigned flags, std::int64_t internal_date,
                     bool* already_had) override;
  std::vector<append_result> append_batch(std::int64_t user_id,
                                          const std::vector<append_request>& requests) override;

 private:
  struct cached_folder {
    // Maildir base name (before ":2,") -> entry; refreshed from the directory on each list.
    std::map<std::string, message_entry> entries;
  };
  std::filesystem::path mailbox_root(std::int64_t user_id) const;
  std::optional<std::filesystem::path> folder_dir(std::int64_t user_id,
                                                  const std::string& folder) const;
  std::vector<message_entry> scan(std::int64_t user_id, const std::string& folder,
                                  const std::filesystem::path& dir);

  std::filesystem::path data_dir_;
  std::mutex mutex_;  // guards cache_ and serialises appends per process
  std::map<std::pair<std::int64_t, std::string>, cached_folder> cache_;
};

}  // namespace junction::serve
