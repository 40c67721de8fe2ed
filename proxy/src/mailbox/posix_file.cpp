#include "mailbox/posix_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <system_error>

namespace junction::mailbox {

void posix_file::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int posix_file::close_checked_errno() {
  const int fd = release();
  if (fd < 0) return 0;
  // Linux releases the descriptor even when close() fails, so no retry on EINTR.
  return ::close(fd) == 0 ? 0 : errno;
}

void posix_file::close_checked(const std::filesystem::path& path) {
  const int err = close_checked_errno();
  if (err != 0) {
    throw std::system_error(err, std::generic_category(), "maildir: close " + path.string());
  }
}

int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int sync_dir_errno(const std::filesystem::path& dir) {
  posix_file f(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!f) return errno;
  if (::fsync(f.get()) != 0) return errno;
  return f.close_checked_errno();
}

void sync_dir(const std::filesystem::path& dir) {
  const int err = sync_dir_errno(dir);
  if (err != 0) {
    throw std::system_error(err, std::generic_category(), "maildir: sync " + dir.string());
  }
}

void for_each_name(const std::filesystem::path& dir,
                   const std::function<void(std::string_view)>& fn) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    const int err = errno;
    if (err == ENOENT) return;
    throw std::system_error(err, std::generic_category(), "maildir: list " + dir.string());
  }
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) break;
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    fn(name);
  }
  const int err = errno;
  if (err != 0) {
    throw std::system_error(err, std::generic_category(), "maildir: list " + dir.string());
  }
}

}  // namespace junction::mailbox
