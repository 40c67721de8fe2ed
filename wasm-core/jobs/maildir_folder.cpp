#include "jobs/maildir_folder.h"

#include <vector>

#include "common/digest.h"
#include "common/utf8.h"
#include "imap/mutf7.h"

namespace junction::jobs {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool equals_inbox(std::string_view s) {
  static constexpr std::string_view inbox = "INBOX";
  if (s.size() != inbox.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != inbox[i]) return false;
  }
  return true;
}

bool is_control(unsigned char u) {
  return u < 0x20 || u == 0x7f;
}

// One component, already modified UTF-7, into the listescape-compatible form (see the
// header): '.' as \2e, and '\' as \5c only where listescape would read "\XX" as an escape.
void append_escaped(std::string& out, std::string_view mutf7) {
  for (std::size_t i = 0; i < mutf7.size(); ++i) {
    const char c = mutf7[i];
    if (c == '.') {
      out += "\\2e";
    } else if (c == '\\' && i + 2 < mutf7.size() && is_hex(mutf7[i + 1]) && is_hex(mutf7[i + 2])) {
      out += "\\5c";
    } else {
      out += c;
    }
  }
}

}  // namespace

maildir_name maildir_folder_name(std::string_view folder) {
  if (folder.empty() || equals_inbox(folder)) return {std::string(), {}};
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t slash = folder.find('/', start);
    const std::string_view component = folder.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (component.empty()) return {std::nullopt, "has an empty component"};
    for (char c : component) {
      if (is_control(static_cast<unsigned char>(c)))
        return {std::nullopt, "contains a control character"};
    }
    if (!first) out += '.';
    if (first && equals_inbox(component)) {
      out += "INBOX";  // Dovecot names INBOX's children .INBOX.x whatever the case given
    } else {
      const auto encoded = imap::mutf7_encode(component);
      if (!encoded) return {std::nullopt, "is not valid UTF-8"};
      append_escaped(out, *encoded);
    }
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (out.size() + 1 > kMaxDirName) return {std::nullopt, "is too long for a directory name"};
  return {std::move(out), {}};
}

std::optional<std::string> folder_from_maildir_name(std::string_view name) {
  std::string path;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view escaped =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (escaped.empty()) return std::nullopt;
    // listescape's "\XX" back to the byte, then modified UTF-7 to UTF-8.
    std::string mutf7;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 2 < escaped.size() && is_hex(escaped[i + 1]) &&
          is_hex(escaped[i + 2])) {
        auto digit = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
        mutf7 += static_cast<char>(digit(escaped[i + 1]) * 16 + digit(escaped[i + 2]));
        i += 2;
      } else {
        mutf7 += escaped[i];
      }
    }
    std::optional<std::string> component;
    if (path.empty() && mutf7 == "INBOX") {
      component = "INBOX";
    } else {
      component = imap::mutf7_decode(mutf7);
    }
    if (!component) return std::nullopt;
    if (!path.empty()) path += '/';
    path += *component;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return path;
}

storable_folder make_storable(std::string_view folder) {
  auto direct = maildir_folder_name(folder);
  if (direct.name) return {std::string(folder), {}};

  // Control characters and bytes that are not UTF-8 become '_'; code point boundaries are
  // kept for the cut below.
  std::string clean;
  std::vector<std::size_t> boundaries{0};
  bool replaced = false;
  for (std::size_t i = 0; i < folder.size();) {
    const std::size_t n = utf8::sequence_length(folder, i);
    if (n == 0 || (n == 1 && is_control(static_cast<unsigned char>(folder[i])))) {
      clean += '_';
      replaced = true;
      i += n == 0 ? 1 : n;
    } else {
      clean.append(folder.substr(i, n));
      i += n;
    }
    boundaries.push_back(clean.size());
  }
  // Empty components (leading, trailing or doubled '/') become "_".
  std::string path;
  std::vector<std::size_t> cuts{0};
  for (std::size_t b = 1; b < boundaries.size(); ++b) {
    const std::string_view cp(clean.data() + boundaries[b - 1], boundaries[b] - boundaries[b - 1]);
    if (cp == "/" && (path.empty() || path.back() == '/')) {
      path += '_';
      replaced = true;
    }
    path.append(cp);
    cuts.push_back(path.size());
  }
  if (path.empty() || path.back() == '/') {
    path += '_';
    replaced = true;
  }

  sha256 h;
  h.update(folder);
  const std::string suffix = "~" + to_hex(h.finish()).substr(0, 8);
  auto candidate = [&](std::size_t bytes) {
    std::string p = path.substr(0, bytes);
    while (!p.empty() && p.back() == '/') p.pop_back();
    return p + suffix;
  };
  auto fits = [&](std::size_t bytes) {
    return maildir_folder_name(candidate(bytes)).name.has_value();
  };
  std::string reason = replaced ? "the name has characters a folder name cannot hold" : "";
  if (fits(path.size())) return {candidate(path.size()), reason};

  // Too long: the longest prefix (at a code point boundary) that fits with the suffix. The
  // encoded length grows with the prefix, so a binary search finds it; a modified UTF-7
  // name is at least 0.88 bytes per UTF-8 byte, so nothing past 4 * kMaxDirName can fit.
  std::size_t lo = 0, hi = cuts.size() - 1;
  while (hi > 0 && cuts[hi] > 4 * kMaxDirName) --hi;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    if (fits(cuts[mid])) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  while (lo > 0 && !fits(cuts[lo])) --lo;
  std::string result = candidate(cuts[lo]);
  if (!maildir_folder_name(result).name) result = suffix.substr(1);  // cannot happen
  return {std::move(result), "the name is too long for the mailbox"};
}

}  // namespace junction::jobs
