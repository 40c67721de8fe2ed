#include "mailbox/posix_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <system_error>

namespace junction::mailbox {
namespace {

int real_syncfs(int fd) {
  return ::syncfs(fd) == 0 ? 0 : errno;
}

int real_fsync_dir(const char* path) {
  posix_file f(::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!f) return errno;
  if (::fsync(f.get()) != 0) return errno;
  return f.close_checked_errno();
}

bool unsupported(int err) {
  return err == EINVAL || err == ENOSYS || err == ENOTSUP || err == EOPNOTSUPP || err == EPERM;
}

// rename() would silently replace a file of the same name (another writer's copy of the same
// message, delivered in the same second). RENAME_NOREPLACE refuses instead; where the file
// system lacks it (NFS, some FUSE), link() + unlink() gives the same answer, because link()
// never replaces either.
int real_rename_noreplace(const char* from, const char* to) {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (!unsupported(err)) return err;
  if (::link(from, to) == 0) {
    ::unlink(from);  // a leftover is tmp/ debris, cleared after 36 hours; the message is stored
    return 0;
  }
  err = errno;
  if (!unsupported(err)) return err;
  // Neither exists here (no hard links at all): a plain rename after a look. Writers of this
  // maildir hold the folder's commit lock around the look and the rename, so none can come in
  // between.
  struct stat st {};
  if (::lstat(to, &st) == 0) return EEXIST;
  if (errno != ENOENT) return errno;
  return ::rename(from, to) == 0 ? 0 : errno;
}

}  // namespace

io_calls real_io_calls() {
  return io_calls{real_syncfs, real_fsync_dir, real_rename_noreplace};
}

io_calls& io() {
  static io_calls calls = real_io_calls();
  return calls;
}

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
  return io().fsync_dir(dir.c_str());
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
