/* Minimal Maildir delivery agent for fetchmail in the retrieval benchmark.
 *
 *   maildir_mda MAILDIR   < message
 *
 * Delivers standard input the way qmail-local, maildrop and getmail do: write to
 * MAILDIR/tmp/UNIQUE, fsync the file, then link it to MAILDIR/new/UNIQUE and unlink the
 * tmp name. Exit 0 only when the message is on disk, 75 (EX_TEMPFAIL) otherwise, so
 * fetchmail keeps an undelivered message on the server. Written in C (not Python) so
 * that the per-message process start-up that fetchmail's MDA design needs costs about a
 * millisecond instead of tens; fetchmail is measured, not an interpreter's start-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
  fprintf(stderr, "maildir_mda: %s %s: %s\n", what, path, strerror(errno));
  return 75;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: maildir_mda MAILDIR < message\n");
    return 64;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  char unique[128], tmp[4096], dst[4096];
  snprintf(unique, sizeof unique, "%lld.M%06ldP%ld.bench-mda", (long long)tv.tv_sec,
           (long)tv.tv_usec, (long)getpid());
  snprintf(tmp, sizeof tmp, "%s/tmp/%s", argv[1], unique);
  snprintf(dst, sizeof dst, "%s/new/%s", argv[1], unique);

  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("open", tmp);
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      unlink(tmp);
      return fail("read", "stdin");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        unlink(tmp);
        return fail("write", tmp);
      }
      off += w;
    }
  }
  if (fsync(fd) != 0) {
    unlink(tmp);
    return fail("fsync", tmp);
  }
  if (close(fd) != 0) {
    unlink(tmp);
    return fail("close", tmp);
  }
  if (link(tmp, dst) != 0) {
    unlink(tmp);
    return fail("link", dst);
  }
  unlink(tmp);
  return 0;
}
