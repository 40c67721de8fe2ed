#include "mailbox/folder_name.h"

#include <stdexcept>

#include "imap/mutf7.h"

namespace junction::mailbox {
namespace {

// NAME_MAX on the file systems we run on (ext4, xfs, btrfs, tmpfs).
constexpr std::size_t max_dir_name = 255;

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

std::invalid_argument bad_name(std::string_view folder, std::string_view why) {
  return std::invalid_argument("maildir: folder name \"" + std::string(folder) + "\" " +
                               std::string(why));
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

std::string maildir_folder_name(std::string_view folder) {
  if (folder.empty() || equals_inbox(folder)) return {};
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t slash = folder.find('/', start);
    const std::string_view component = folder.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (component.empty()) throw bad_name(folder, "has an empty component");
    for (char c : component) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) throw bad_name(folder, "contains a control character");
    }
    if (!first) out += '.';
    if (first && equals_inbox(component)) {
      out += "INBOX";  // Dovecot names INBOX's children .INBOX.x whatever the case given
    } else {
      const auto encoded = imap::mutf7_encode(component);
      if (!encoded) throw bad_name(folder, "is not valid UTF-8");
      append_escaped(out, *encoded);
    }
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (out.size() + 1 > max_dir_name) throw bad_name(folder, "is too long for a directory name");
  return out;
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
        mutf7 += static_cast<char>(std::stoi(std::string(escaped.substr(i + 1, 2)), nullptr, 16));
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

}  // namespace junction::mailbox
