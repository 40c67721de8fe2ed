// Thin POSIX helpers for the Maildir writer: an owned file descriptor and the few calls
// whose errors the writer reports (write, fsync of a directory, listing a directory, a rename
// that never replaces).
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace junction::mailbox {

class posix_file {
 public:
  posix_file() = default;
  explicit posix_file(int fd) : fd_(fd) {}
  posix_file(posix_file&& other) noexcept : fd_(other.release()) {}
  posix_file& operator=(posix_file&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  posix_file(const posix_file&) = delete;
  posix_file& operator=(const posix_file&) = delete;
  ~posix_file() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);  // closes the old descriptor, ignoring errors
  // Closes and returns errno of close() (0 on success): on some file systems (NFS) a
  // failed write shows up only here.
  int close_checked_errno();
  // The same, throwing std::system_error naming `path`.
  void close_checked(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

// Writes all of `bytes`, retrying short writes and EINTR. Returns 0 or the errno.
int write_all(int fd, std::string_view bytes);

// The calls whose failures a commit must survive, through one table so that a test can put a
// failing one in their place (the real calls unless changed). Each returns 0 or an errno.
struct io_calls {
  int (*syncfs)(int fd);
  int (*fsync_dir)(const char* path);
  // Renames `from` to `to` unless `to` exists (EEXIST then, and nothing changed).
  int (*rename_noreplace)(const char* from, const char* to);
};
io_calls& io();            // the process's table
io_calls real_io_calls();  // what it holds by default, to restore after a test

// fsync of a directory, so that the entries created or renamed in it survive a crash.
// Returns 0 or the errno.
int sync_dir_errno(const std::filesystem::path& dir);
// The same, throwing std::system_error.
void sync_dir(const std::filesystem::path& dir);

// Calls `fn` with every name in `dir` except "." and ".."; a missing directory has none.
// Throws std::system_error for other errors.
void for_each_name(const std::filesystem::path& dir,
                   const std::function<void(std::string_view)>& fn);

}  // namespace junction::mailbox
