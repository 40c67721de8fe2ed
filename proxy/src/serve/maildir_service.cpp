#include "serve/maildir_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "common/base64.h"
#include "mailbox/folder_name.h"
#include "mailbox/maildir.h"
#include "mime/headers.h"
#include "model/validation.h"

namespace junction::serve {
namespace fs = std::filesystem;
namespace {

// How much of a message is read for its list entry: the header section, bounded.
constexpr std::size_t kHeaderPeek = 64 << 10;

std::string to_id(const std::string& folder, const std::string& base) {
  std::string b = base64::encode(folder + "\n" + base);
  for (auto& c : b) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

bool from_id(const std::string& id, std::string& folder, std::string& base) {
  std::string b = id;
  for (auto& c : b) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return false;
  }
  while (b.size() % 4 != 0) b += '=';
  auto decoded = base64::decode(b);
  if (!decoded) return false;
  auto nl = decoded->find('\n');
  if (nl == std::string::npos) return false;
  folder = decoded->substr(0, nl);
  base = decoded->substr(nl + 1);
  return !base.empty() && base.find('/') == std::string::npos && base != "." && base != "..";
}

// "base:2,FS" -> flags; Maildir letters D F R S.
std::vector<std::string> flags_of(const std::string& name) {
  std::vector<std::string> flags;
  auto info = name.find(":2,");
  if (info == std::string::npos) return flags;
  for (char c : name.substr(info + 3)) {
    if (c == 'D') flags.emplace_back("\\Draft");
    if (c == 'F') flags.emplace_back("\\Flagged");
    if (c == 'R') flags.emplace_back("\\Answered");
    if (c == 'S') flags.emplace_back("\\Seen");
  }
  return flags;
}

}  // namespace

fs::path maildir_service::user_dir(const fs::path& data_dir, std::int64_t user_id) {
  return data_dir / "users" / std::to_string(user_id);
}

fs::path maildir_service::mailbox_root(std::int64_t user_id) const {
  return user_dir(data_dir_, user_id) / "mailbox";
}

std::optional<fs::path> maildir_service::folder_dir(std::int64_t user_id,
                                                    const std::string& folder) const {
  if (folder.empty() || folder == "INBOX") return mailbox_root(user_id);
  if (!model::is_valid_folder_path(folder)) return std::nullopt;
  try {
    return mailbox_root(user_id) / ("." + mailbox::maildir_folder_name(folder));
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

nlohmann::json maildir_service::folders(std::int64_t user_id) {
  nlohmann::json out = nlohmann::json::array();
  const fs::path root = mailbox_root(user_id);
  auto count = [](const fs::path& dir, std::uint64_t& total, std::uint64_t& unseen) {
    total = unseen = 0;
    std::error_code ec;
    for (const char* sub : {"new", "cur"}) {
      for (fs::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        ++total;
        auto f = flags_of(name);
        if (std::find(f.begin(), f.end(), "\\Seen") == f.end()) ++unseen;
      }
    }
  };
  std::uint64_t total = 0, unseen = 0;
  count(root, total, unseen);
  out.push_back({{"name", "INBOX"}, {"total", total}, {"unseen", unseen}});
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string dir = it->path().filename().string();
    if (dir.size() < 2 || dir[0] != '.' || !it->is_directory()) continue;
    if (auto folder = mailbox::folder_from_maildir_name(dir.substr(1))) names.push_back(*folder);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    count(root / ("." + mailbox::maildir_folder_name(name)), total, unseen);
    out.push_back({{"name", name}, {"total", total}, {"unseen", unseen}});
  }
  return out;
}

std::vector<message_entry> maildir_service::scan(std::int64_t user_id, const std::string& folder,
                                                 const fs::path& dir) {
  auto& cached = cache_[{user_id, folder}];
  std::map<std::string, message_entry> fresh;
  std::error_code ec;
  for (const char* sub : {"new", "cur"}) {
    for (fs::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      const std::string base = name.substr(0, name.find(":2,"));
      auto old = cached.entries.find(base);
      message_entry entry;
      if (old != cached.entries.end()) {
        entry = old->second;
      } else {
        entry.id = to_id(folder, base);
        entry.folder = folder;
        std::ifstream in(it->path(), std::ios::binary);
        std::string head(kHeaderPeek, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        mime::header_reader reader;
        reader.feed(head);
        reader.finish();
        const auto& s = reader.summary();
        entry.from = s.from;
        entry.to = s.to;
        entry.subject = s.subject;
        entry.date = s.date;
        struct stat st {};
        if (::stat(it->path().c_str(), &st) == 0) {
          entry.size = static_cast<std::uint64_t>(st.st_size);
          entry.date_unix = s.date_unix ? *s.date_unix : static_cast<std::int64_t>(st.st_mtime);
        }
      }
      entry.flags = flags_of(name);  // flags change on disk; re-read them every time
      fresh.emplace(base, std::move(entry));
    }
  }
  cached.entries = std::move(fresh);
  std::vector<message_entry> list;
  list.reserve(cached.entries.size());
  for (const auto& [base, e] : cached.entries) list.push_back(e);
  std::sort(list.begin(), list.end(), [](const message_entry& a, const message_entry& b) {
    return a.date_unix != b.date_unix ? a.date_unix > b.date_unix : a.id < b.id;
  });
  return list;
}

std::optional<std::vector<message_entry>> maildir_service::messages(std::int64_t user_id,
                                                                    const std::string& folder,
                                                                    int page, int page_size,
                                                                    std::uint64_t* total) {
  auto dir = folder_dir(user_id, folder);
  std::error_code ec;
  if (!dir || !fs::is_directory(*dir / "cur", ec)) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto all = scan(user_id, folder.empty() ? "INBOX" : folder, *dir);
  if (total) *total = all.size();
  std::vector<message_entry> out;
  const std::size_t first = static_cast<std::size_t>(std::max(page, 0)) *
                            static_cast<std::size_t>(std::max(page_size, 1));
  for (std::size_t i = first; i < all.size() && out.size() < static_cast<std::size_t>(page_size);
       ++i) {
    out.push_back(std::move(all[i]));
  }
  return out;
}

std::optional<std::string> maildir_service::raw(std::int64_t user_id, const std::string& id) {
  std::string folder, base;
  if (!from_id(id, folder, base)) return std::nullopt;
  auto dir = folder_dir(user_id, folder);
  if (!dir) return std::nullopt;
  std::error_code ec;
  for (const char* sub : {"cur", "new"}) {
    for (fs::directory_iterator it(*dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.substr(0, name.find(":2,")) != base) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return bytes;
    }
  }
  return std::nullopt;
}

std::string maildir_service::append(std::int64_t user_id, const std::string& folder,
                                    std::string_view message, std::string_view key, unsigned flags,
                                    std::int64_t internal_date, bool* already_had) {
  std::vector<append_request> one(1);
  one[0].folder = folder;
  one[0].message = message;
  one[0].key = std::string(key);
  one[0].flags = flags;
  one[0].internal_date = internal_date;
  const append_result r = std::move(append_batch(user_id, one).front());
  if (r.code == "invalid") throw std::invalid_argument(r.error);
  if (!r.code.empty()) throw std::runtime_error(r.error);
  if (already_had) *already_had = r.already_had;
  return r.id;
}

std::vector<mailbox_service::append_result> maildir_service::append_batch(
    std::int64_t user_id, const std::vector<append_request>& requests) {
  std::vector<append_result> results(requests.size());
  const auto refuse = [&](std::size_t i, std::string code, std::string error) {
    results[i].code = std::move(code);
    results[i].error = std::move(error);
  };
  std::vector<std::string> names(requests.size());  // folder as listed ("INBOX" for the root)
  std::vector<std::string> keys(requests.size());
  std::map<std::uint64_t, std::size_t> request_of;  // delivery → request

  std::lock_guard lock(mutex_);
  mailbox::maildir box(mailbox_root(user_id));
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const append_request& r = requests[i];
    names[i] = r.folder.empty() ? "INBOX" : r.folder;
    if (names[i] != "INBOX" && !model::is_valid_folder_path(names[i])) {
      refuse(i, "invalid", "not a valid folder name: " + names[i]);
      continue;
    }
    if (r.message.empty()) {
      refuse(i, "invalid", "the message is empty");
      continue;
    }
    // No key from the client: the content names the message, so a retried append of the
    // same bytes is still stored once.
    keys[i] = r.key.empty() ? mailbox::content_key(r.message) : r.key;
    try {
      (void)mailbox::maildir_folder_name(names[i]);
    } catch (const std::invalid_argument& e) {  // a name the Maildir++ layout cannot hold
      // Refused here, as the client's mistake: begin() would take it and fail the delivery
      // at commit like a disk error, which a client may retry.
      refuse(i, "invalid", e.what());
      continue;
    }
    const std::uint64_t d = box.begin(names[i]);
    try {
      box.write(d, r.message);
      box.end(d, keys[i], r.flags, r.internal_date);
    } catch (const std::invalid_argument& e) {  // a key or flags maildir refuses
      box.abort(d);
      refuse(i, "invalid", e.what());
      continue;
    }
    request_of.emplace(d, i);
  }

  // The one group commit for everything above; nothing is reported before it.
  std::map<std::string, std::map<std::string, std::string>> wanted;  // folder → key → id
  for (const mailbox::commit_result& c : box.commit()) {
    const auto found = request_of.find(c.delivery);
    if (found == request_of.end()) continue;
    const std::size_t i = found->second;
    if (c.status == mailbox::commit_status::failed) {
      refuse(i, "store_failed", "could not store the message: " + c.error);
      continue;
    }
    results[i].already_had = c.status == mailbox::commit_status::already_had;
    wanted[names[i]][keys[i]];
  }

  // The ids of the stored (or existing) files: one pass over each folder touched.
  for (auto& [name, ids] : wanted) {
    const auto dir = folder_dir(user_id, name);
    if (!dir) continue;
    std::error_code ec;
    for (const char* sub : {"new", "cur"}) {
      for (fs::directory_iterator it(*dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string file = it->path().filename().string();
        // <time>.J<key>.<host>[:2,flags]
        const std::size_t dot = file.find('.');
        if (dot == std::string::npos || file.compare(dot + 1, 1, "J") != 0) continue;
        const std::size_t key_end = file.find('.', dot + 2);
        if (key_end == std::string::npos) continue;
        const auto slot = ids.find(file.substr(dot + 2, key_end - dot - 2));
        if (slot != ids.end()) slot->second = to_id(name, file.substr(0, file.find(":2,")));
      }
    }
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!results[i].code.empty()) continue;
    const std::string& id = wanted[names[i]][keys[i]];
    if (id.empty()) {
      refuse(i, "store_failed", "the stored message could not be found again");
    } else {
      results[i].id = id;
    }
  }
  return results;
}

}  // namespace junction::serve
