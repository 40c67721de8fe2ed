// Maildir delivery (https://cr.yp.to/proc/maildir.html) with Maildir++ folders as Dovecot
// reads them (folder_name.h).
//
// File names: `<unix-time>.J<key>.<host>` in new/ when the message has no flags, and
// `<unix-time>.J<key>.<host>:2,<flags>` in cur/ otherwise, the flag letters in ASCII order
// as Maildir requires (D draft, F flagged, R answered, S seen, T deleted). The key in the
// name is what makes delivery idempotent: Dovecot keeps the base name when it moves a
// message from new/ to cur/ or changes its flags, so the key survives. A file's mtime is
// the message's INTERNALDATE (Dovecot's "received date" for Maildir).
//
// Files are private to the mailbox's owner (directories 0700, files 0600): the Dovecot that
// opens the mailbox must run as the same user.
//
// Several writers may share a folder (two runs of one task in different processes, a browser
// batch beside a native run). Each folder has a lock file, `junction-lock` in its directory
// (not a message: Dovecot reads only cur/, new/, tmp/ and the dot-folders), which a commit holds
// while it looks for the keys and renames; the file holds a generation number that every
// commit which changed the folder raises, so a writer re-reads the folder's keys only when
// another writer changed it. Renames never replace a file (posix_file.h).
#include "mailbox/maildir.h"

#include "common/digest.h"
#include "common/utf8.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>

#include "mailbox/folder_name.h"
#include "mailbox/posix_file.h"

namespace junction::mailbox {
namespace {

// Maildir's advice: a file left in tmp/ for 36 hours is debris of a crashed delivery.
constexpr std::int64_t stale_tmp_seconds = 36 * 60 * 60;
// User-space write buffer per open delivery: large writes, bounded memory.
constexpr std::size_t write_buffer_size = 256 * 1024;
constexpr unsigned all_flags = 31;

bool valid_key(std::string_view key) {
  if (key.size() < 16 || key.size() > 64) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// `<time>.J<key>.<host>[:2,flags]` → key, or empty when the name is not one of ours.
std::string_view key_of(std::string_view name) {
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size() || name[dot + 1] != 'J') return {};
  const std::size_t end = name.find('.', dot + 2);
  if (end == std::string_view::npos) return {};
  const std::string_view key = name.substr(dot + 2, end - dot - 2);
  return valid_key(key) ? key : std::string_view{};
}

// Maildir's convention for the host part: '/' and ':' would break the name, so they are
// written as \057 and \072; anything else outside printable ASCII becomes '_'.
std::string sanitized_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string out;
  for (const char* p = buf; *p != '\0'; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else if (c <= 0x20 || c >= 0x7f) {
      out += '_';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string flag_suffix(unsigned flags) {
  std::string s;
  if (flags & static_cast<unsigned>(message_flag::draft)) s += 'D';
  if (flags & static_cast<unsigned>(message_flag::flagged)) s += 'F';
  if (flags & static_cast<unsigned>(message_flag::answered)) s += 'R';
  if (flags & static_cast<unsigned>(message_flag::seen)) s += 'S';
  if (flags & static_cast<unsigned>(message_flag::deleted)) s += 'T';
  return s;
}

constexpr const char* lock_file_name = "junction-lock";

// A folder name for an error message, which reaches logs and JSON: well-formed UTF-8 kept,
// any other byte outside printable ASCII as \xNN (the name may be the very thing that is
// wrong), cut to a length a log line can hold.
std::string printable(std::string_view name) {
  static constexpr char hex[] = "0123456789abcdef";
  constexpr std::size_t limit = 120;
  std::string out;
  std::size_t i = 0;
  while (i < name.size() && i < limit) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) {
      if (const std::size_t n = utf8::sequence_length(name, i); n != 0) {
        out.append(name.substr(i, n));
        i += n;
        continue;
      }
    }
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += name[i];
    }
    ++i;
  }
  if (i < name.size()) out += "...";
  return out;
}

std::invalid_argument unknown_delivery(std::uint64_t delivery) {
  return std::invalid_argument("maildir: no open delivery " + std::to_string(delivery));
}

}  // namespace

struct maildir::impl {
  struct folder {
    std::filesystem::path dir;
    bool keys_loaded = false;
    std::uint64_t generation = 0;  // of the lock file when the keys were read
    // Committed keys, each with the subfolder its file was in ("new" or "cur").
    std::unordered_map<std::string, const char*> keys;
  };

  struct delivery {
    folder* box = nullptr;
    std::filesystem::path tmp_path;
    posix_file file;
    std::string buffer;
    std::string error;  // the first failure; the delivery then fails at commit
    bool ended = false;
    bool already_had = false;  // decided at end() or at commit: the key was committed before
    std::string key;
    unsigned flags = 0;
  };

  std::filesystem::path root;
  posix_file root_fd;
  std::string host = sanitized_hostname();
  std::unordered_map<std::string, folder> folders;  // by on-disk name, "" = INBOX
  std::map<std::uint64_t, delivery> deliveries;     // ordered: commit reports in order
  std::uint64_t next_delivery = 1;

  // Creates `dir` unless it exists; true when it was created.
  static bool make_dir(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0) return true;
    const int err = errno;
    if (err == EEXIST) return false;
    throw std::system_error(err, std::generic_category(), "maildir: mkdir " + dir.string());
  }

  // cur/ new/ tmp/ (and the marker) of one maildir; made durable when anything was new, so
  // a delivery renamed into it after a crash is not lost with its directory.
  static void make_maildir(const std::filesystem::path& dir, bool marker) {
    bool created = make_dir(dir);
    for (const char* sub : {"cur", "new", "tmp"}) created |= make_dir(dir / sub);
    if (marker) {
      const auto path = dir / "maildirfolder";
      posix_file f(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      const int err = errno;
      if (f) {
        created = true;
        f.close_checked(path);
      } else if (err != EEXIST) {
        throw std::system_error(err, std::generic_category(), "maildir: create " + path.string());
      }
    }
    if (!created) return;
    for (const char* sub : {"cur", "new", "tmp"}) sync_dir(dir / sub);
    sync_dir(dir);
    sync_dir(dir.parent_path());
  }

  // Throws std::system_error, or std::invalid_argument for a name that cannot be stored.
  folder& open_folder(std::string_view name) {
    std::string disk = maildir_folder_name(name);
    auto it = folders.find(disk);
    if (it != folders.end()) return it->second;
    std::filesystem::path dir = disk.empty() ? root : root / ("." + disk);
    if (!disk.empty()) make_maildir(dir, true);
    folder& f = folders[disk];
    f.dir = std::move(dir);
    return f;
  }

  // The generation in a folder's lock file (0 for a new or empty one). Throws
  // std::system_error.
  static std::uint64_t read_generation(int fd, const std::filesystem::path& path) {
    unsigned char bytes[8] = {};
    const ssize_t n = ::pread(fd, bytes, sizeof bytes, 0);
    if (n < 0) {
      const int err = errno;
      throw std::system_error(err, std::generic_category(), "maildir: read " + path.string());
    }
    std::uint64_t g = 0;
    for (ssize_t i = 0; i < n; ++i) g = (g << 8) | bytes[i];
    return n == 8 ? g : 0;
  }

  static posix_file open_lock(const folder& f) {
    const auto path = f.dir / lock_file_name;
    posix_file fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) {
      const int err = errno;
      throw std::system_error(err, std::generic_category(), "maildir: open " + path.string());
    }
    return fd;
  }

  // Reads the folder's keys from new/ and cur/, replacing what was known. The generation is
  // read first: a commit raises it after its renames, so whatever the listing misses shows
  // as a newer generation at the next commit.
  static void read_keys(folder& f, int lock_fd) {
    f.generation = read_generation(lock_fd, f.dir / lock_file_name);
    f.keys.clear();
    for (const char* sub : {"new", "cur"}) {
      for_each_name(f.dir / sub, [&](std::string_view name) {
        const std::string_view key = key_of(name);
        if (!key.empty()) f.keys[std::string(key)] = sub;
      });
    }
  }

  // The folder's committed keys, read at first use (commit() reads them again when another
  // writer changed the folder); also the moment to clear tmp/ of debris from a crash long
  // ago. A reader of Maildir never looks in tmp/, so a file left there is invisible whatever
  // its age.
  void load_keys(folder& f) {
    if (f.keys_loaded) return;
    read_keys(f, open_lock(f).get());
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const auto tmp = f.dir / "tmp";
    for_each_name(tmp, [&](std::string_view name) {
      const auto path = tmp / std::string(name);
      struct stat st {};
      // ctime, not mtime: ours carry the INTERNALDATE as mtime, but nobody can set ctime back.
      if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          now - static_cast<std::int64_t>(st.st_ctime) > stale_tmp_seconds) {
        ::unlink(path.c_str());
      }
    });
    f.keys_loaded = true;
  }

  delivery& find(std::uint64_t id) {
    auto it = deliveries.find(id);
    if (it == deliveries.end()) throw unknown_delivery(id);
    return it->second;
  }

  void fail(delivery& d, const std::string& what, int err) {
    if (d.error.empty()) d.error = "maildir: " + what + ": " + std::strerror(err);
  }

  void flush(delivery& d) {
    if (d.buffer.empty() || !d.error.empty()) return;
    const int err = write_all(d.file.get(), d.buffer);
    if (err != 0) fail(d, "write " + d.tmp_path.string(), err);
    d.buffer.clear();
  }

  void discard(delivery& d) {
    d.file.reset();
    if (!d.tmp_path.empty()) ::unlink(d.tmp_path.c_str());
  }
};

maildir::maildir(std::filesystem::path root) : impl_(std::make_unique<impl>()) {
  impl_->root = std::move(root);
  std::filesystem::create_directories(impl_->root);  // throws filesystem_error (a system_error)
  impl::make_maildir(impl_->root, false);
  impl_->root_fd.reset(::open(impl_->root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!impl_->root_fd) {
    const int err = errno;
    throw std::system_error(err, std::generic_category(), "maildir: open " + impl_->root.string());
  }
}

// Deliveries not committed are not stored: their tmp files go.
maildir::~maildir() {
  for (auto& [id, d] : impl_->deliveries) impl_->discard(d);
}

std::filesystem::path maildir::folder_dir(std::string_view folder) {
  return impl_->open_folder(folder).dir;
}

// A folder that cannot be created, or a tmp file that cannot be opened, fails this
// delivery at commit() rather than throwing here, like any other file error.
std::uint64_t maildir::begin(std::string_view folder) {
  const std::uint64_t id = impl_->next_delivery++;
  impl::delivery d;
  try {
    d.box = &impl_->open_folder(folder);
  } catch (const std::system_error& e) {
    d.error = e.what();
  } catch (const std::invalid_argument& e) {
    // A name the Maildir++ layout cannot hold (too long once encoded, a control character,
    // not UTF-8): this delivery fails, the others go on.
    // The exception names the folder raw; only its reason (after the quoted name) is kept.
    const std::string_view what = e.what();
    const std::size_t quote = what.rfind('"');
    const std::string why =
        printable(quote == std::string_view::npos ? what : what.substr(quote + 1));
    d.error = "maildir: cannot store folder \"" + printable(folder) + "\": the name" +
              (why.empty() || why[0] == ' ' ? why : " " + why);
  }
  if (d.box != nullptr) {
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    // Unique without the key, which is not known yet: time, pid and delivery number.
    d.tmp_path = d.box->dir / "tmp" /
                 (std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_nsec / 1000) + "P" +
                  std::to_string(::getpid()) + "Q" + std::to_string(id) + "." + impl_->host);
    d.file.reset(::open(d.tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!d.file) {
      const int err = errno;
      impl_->fail(d, "create " + d.tmp_path.string(), err);
      d.tmp_path.clear();
    }
  }
  impl_->deliveries.emplace(id, std::move(d));
  return id;
}

void maildir::write(std::uint64_t delivery, std::string_view bytes) {
  auto& d = impl_->find(delivery);
  if (d.ended)
    throw std::invalid_argument("maildir: write after end of delivery " + std::to_string(delivery));
  if (!d.error.empty() || bytes.empty()) return;
  if (d.buffer.size() + bytes.size() > write_buffer_size) {
    impl_->flush(d);
    if (bytes.size() >= write_buffer_size) {  // big piece: straight to the file
      const int err = write_all(d.file.get(), bytes);
      if (err != 0) impl_->fail(d, "write " + d.tmp_path.string(), err);
      return;
    }
  }
  if (d.buffer.capacity() < write_buffer_size) d.buffer.reserve(write_buffer_size);
  d.buffer.append(bytes);
}

void maildir::end(std::uint64_t delivery, std::string_view key, unsigned flags,
                  std::int64_t internal_date) {
  auto& d = impl_->find(delivery);
  if (d.ended)
    throw std::invalid_argument("maildir: delivery " + std::to_string(delivery) + " already ended");
  if (!valid_key(key)) {
    throw std::invalid_argument("maildir: key \"" + std::string(key) +
                                "\" is not 16 to 64 lower-case hex digits");
  }
  if ((flags & ~all_flags) != 0) {
    throw std::invalid_argument("maildir: unknown flag bits " + std::to_string(flags));
  }
  d.ended = true;
  d.key = key;
  d.flags = flags;
  impl_->flush(d);
  std::string().swap(d.buffer);
  if (d.error.empty()) {
    struct timespec times[2] = {};
    if (internal_date == 0) {
      times[0].tv_nsec = times[1].tv_nsec = UTIME_NOW;
    } else {
      times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(internal_date);
    }
    if (::futimens(d.file.get(), times) != 0) {
      const int err = errno;
      impl_->fail(d, "set time of " + d.tmp_path.string(), err);
    }
  }
  if (d.file) {
    const int err = d.file.close_checked_errno();
    if (err != 0) impl_->fail(d, "close " + d.tmp_path.string(), err);
  }
  if (!d.error.empty()) return;
  try {
    impl_->load_keys(*d.box);
  } catch (const std::system_error& e) {
    d.error = e.what();
    return;
  }
  if (d.box->keys.count(d.key) != 0) {  // committed earlier: nothing to keep
    d.already_had = true;
    impl_->discard(d);
  }
}

void maildir::abort(std::uint64_t delivery) {
  auto it = impl_->deliveries.find(delivery);
  if (it == impl_->deliveries.end()) throw unknown_delivery(delivery);
  impl_->discard(it->second);
  impl_->deliveries.erase(it);
}

// Group commit, in the order that makes "stored" true after a crash at any point:
// 0. lock each folder the batch writes to (in path order, so two writers never wait for each
//    other in a cycle) and, when another writer changed it since its keys were read, read
//    them again: a key stored meanwhile by someone else is already had, not stored twice;
// 1. every file's data is on disk (one syncfs for the whole batch; where syncfs fails, an
//    fdatasync per file, and an fsync of the directories that hold already-had files, whose
//    entries syncfs would have flushed);
// 2. rename tmp/ → new/ or cur/, never replacing a file of the same name;
// 3. fsync each directory that got a file. A file whose directory could not be synced is
//    removed again and its delivery fails: no later run may count as already had an entry
//    the kernel said it could not persist.
// Only then is a delivery reported stored. A crash before 3 leaves files in tmp/ (invisible)
// or renamed but not reported: the re-run finds their keys (already_had).
std::vector<commit_result> maildir::commit() {
  struct step {
    std::uint64_t id;
    impl::delivery* d;
    commit_result result;
    std::filesystem::path dir;         // new/ or cur/ it went to
    std::filesystem::path target;      // its file there, once renamed
    std::size_t stored_by = SIZE_MAX;  // already_had because an earlier step of this batch
  };
  std::vector<step> steps;
  for (auto& [id, d] : impl_->deliveries) {
    if (d.ended) steps.push_back(step{id, &d, commit_result{id}, {}, {}, SIZE_MAX});
  }
  if (steps.empty()) return {};
  auto pending = [](const impl::delivery& d) { return d.error.empty() && !d.already_had; };

  // (0) Locks, and the keys as they are now.
  struct folder_lock {
    impl::folder* f = nullptr;
    posix_file fd;
    bool changed = false;  // a file was renamed in or removed
  };
  std::map<std::filesystem::path, folder_lock> locks;
  for (auto& s : steps) {
    if (pending(*s.d)) locks[s.d->box->dir].f = s.d->box;
  }
  for (auto& [dir, lock] : locks) {
    try {
      lock.fd = impl::open_lock(*lock.f);
      while (::flock(lock.fd.get(), LOCK_EX) != 0) {
        const int err = errno;
        if (err == EINTR) continue;
        throw std::system_error(err, std::generic_category(),
                                "maildir: lock " + (dir / lock_file_name).string());
      }
      if (!lock.f->keys_loaded) {
        impl_->load_keys(*lock.f);
      } else if (impl::read_generation(lock.fd.get(), dir / lock_file_name) != lock.f->generation) {
        impl::read_keys(*lock.f, lock.fd.get());
      }
    } catch (const std::system_error& e) {
      lock.fd.reset();
      for (auto& s : steps) {
        if (s.d->box == lock.f && pending(*s.d)) s.d->error = e.what();
      }
    }
  }
  for (auto& s : steps) {
    auto& d = *s.d;
    if (pending(d) && d.box->keys.count(d.key) != 0) {  // another writer stored it meanwhile
      d.already_had = true;
      impl_->discard(d);
    }
  }

  // (1) Data. syncfs reports write-back errors of the file system since Linux 5.8.
  const bool synced = io().syncfs(impl_->root_fd.get()) == 0;
  if (!synced) {
    std::set<impl::folder*> had;
    for (auto& s : steps) {
      auto& d = *s.d;
      if (!d.error.empty()) continue;
      if (d.already_had) {
        had.insert(d.box);
        continue;
      }
      posix_file f(::open(d.tmp_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!f || ::fdatasync(f.get()) != 0) {
        const int err = errno;
        impl_->fail(d, "sync " + d.tmp_path.string(), err);
      }
    }
    // An already-had file may be one a crashed run renamed and never synced: its entry is
    // only as durable as its directory.
    for (impl::folder* f : had) {
      for (const char* sub : {"new", "cur"}) {
        const int err = sync_dir_errno(f->dir / sub);
        if (err == 0) continue;
        for (auto& s : steps) {
          if (s.d->box == f && s.d->already_had)
            impl_->fail(*s.d, "sync " + (f->dir / sub).string(), err);
        }
      }
    }
  }

  // (2) Renames, in delivery order, so the first of two with one key is the one stored.
  std::unordered_map<std::string, std::size_t> stored_here;  // "dir\0key" → step
  std::map<std::filesystem::path, std::vector<std::size_t>> touched;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto& s = steps[i];
    auto& d = *s.d;
    if (!d.error.empty()) {
      s.result.status = commit_status::failed;
      s.result.error = d.error;
      impl_->discard(d);
      continue;
    }
    if (d.already_had) {
      s.result.status = commit_status::already_had;
      continue;
    }
    const std::string batch_key = d.box->dir.string() + '\0' + d.key;
    if (d.box->keys.count(d.key) != 0) {
      s.result.status = commit_status::already_had;
      auto it = stored_here.find(batch_key);
      if (it != stored_here.end()) s.stored_by = it->second;
      impl_->discard(d);
      continue;
    }
    const std::string suffix = flag_suffix(d.flags);
    const std::string name = std::to_string(std::time(nullptr)) + ".J" + d.key + "." + impl_->host +
                             (suffix.empty() ? "" : ":2," + suffix);
    const char* sub = suffix.empty() ? "new" : "cur";
    s.dir = d.box->dir / sub;
    const auto target = s.dir / name;
    const int err = io().rename_noreplace(d.tmp_path.c_str(), target.c_str());
    if (err == EEXIST) {
      // The same name, so the same key: a writer that did not take the lock stored it this
      // very second. Ours goes; theirs counts once its directory is synced (3).
      s.result.status = commit_status::already_had;
      d.box->keys[d.key] = sub;
      impl_->discard(d);
      touched[s.dir].push_back(i);
      continue;
    }
    if (err != 0) {
      impl_->fail(d, "rename " + d.tmp_path.string() + " to " + target.string(), err);
      s.result.status = commit_status::failed;
      s.result.error = d.error;
      impl_->discard(d);
      continue;
    }
    d.tmp_path.clear();
    s.target = target;
    d.box->keys[d.key] = sub;
    locks[d.box->dir].changed = true;
    stored_here.emplace(batch_key, i);
    touched[s.dir].push_back(i);
    s.result.status = commit_status::stored;
  }

  // (3) Directory entries.
  for (const auto& [dir, indexes] : touched) {
    const int err = sync_dir_errno(dir);
    if (err == 0) continue;
    const std::string error = "maildir: sync " + dir.string() + ": " + std::strerror(err);
    for (std::size_t i : indexes) {
      auto& s = steps[i];
      s.result.error = error;
      if (s.result.status == commit_status::stored) {
        // Not known durable: the file goes again, so that the next run stores the message
        // anew (at worst a second copy) instead of trusting an entry a crash may still take.
        if (::unlink(s.target.c_str()) == 0) {
          s.result.error += "; the message was removed again and will be stored anew";
        } else {
          const int unlink_err = errno;
          s.result.error +=
              "; removing " + s.target.string() + " failed too: " + std::strerror(unlink_err);
        }
        s.d->box->keys.erase(s.d->key);
      }
      s.result.status = commit_status::failed;
    }
  }

  // Other writers read the keys again at their next commit.
  for (auto& [dir, lock] : locks) {
    if (!lock.changed || !lock.fd) continue;
    try {
      const std::uint64_t next = impl::read_generation(lock.fd.get(), dir / lock_file_name) + 1;
      unsigned char bytes[8];
      for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(next >> (56 - 8 * i));
      // A failed write costs at worst a second copy from another writer, never a loss.
      if (::pwrite(lock.fd.get(), bytes, sizeof bytes, 0) == 8) lock.f->generation = next;
    } catch (const std::system_error&) {
    }
  }
  locks.clear();  // unlocks

  std::vector<commit_result> results;
  results.reserve(steps.size());
  for (auto& s : steps) {
    // A duplicate is only as safe as the copy it duplicates.
    if (s.stored_by != SIZE_MAX && steps[s.stored_by].result.status == commit_status::failed) {
      s.result.status = commit_status::failed;
      s.result.error = steps[s.stored_by].result.error;
    }
    results.push_back(std::move(s.result));
    impl_->deliveries.erase(s.id);
  }
  return results;
}

bool maildir::has_key(std::string_view folder, std::string_view key) {
  if (!valid_key(key)) return false;
  std::string disk;
  try {
    disk = maildir_folder_name(folder);
  } catch (const std::invalid_argument&) {
    return false;  // a folder that cannot be stored holds nothing
  }
  auto it = impl_->folders.find(disk);
  if (it == impl_->folders.end()) {
    std::error_code ec;
    const auto dir = disk.empty() ? impl_->root : impl_->root / ("." + disk);
    if (!std::filesystem::is_directory(dir, ec)) return false;  // no folder, no key
  }
  auto& f = impl_->open_folder(folder);
  if (!f.keys_loaded) {
    impl_->load_keys(f);
  } else {
    // Another writer may have stored (or removed) messages since the keys were read.
    const posix_file lock = impl::open_lock(f);
    if (impl::read_generation(lock.get(), f.dir / lock_file_name) != f.generation) {
      impl::read_keys(f, lock.get());
    }
  }
  return f.keys.count(std::string(key)) != 0;
}

std::string content_key(std::string_view message) {
  return sha256_hex("content\x1f" + std::string(message)).substr(0, 32);
}

}  // namespace junction::mailbox
