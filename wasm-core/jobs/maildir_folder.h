// Which destination folder names the mailbox can store, in one place for the jobs (which map
// a source folder to a destination) and the proxy's Maildir (which writes it to disk).
//
// The mailbox is Maildir++ as Dovecot 2.3 reads it (`mail_location = maildir:DIR`):
//
//   INBOX           DIR itself           (the name "INBOX" in any case)
//   Work/Sub        DIR/.Work.Sub        ('.' is Maildir++'s hierarchy separator)
//   A & B           DIR/.A &- B          (each component in modified UTF-7, RFC 3501 §5.1.3)
//   Été             DIR/.&AMk-t&AOk-
//   with space      DIR/.with space
//   INBOX/sub       DIR/.INBOX.sub       (also for "inbox/sub": Dovecot upper-cases it)
//   a.b             DIR/.a\2eb           (see below)
//
// A '.' inside a component cannot be stored literally: Dovecot would read it as a
// hierarchy separator, and its default config refuses to create such names ("Character
// not allowed in mailbox name: '.'"). It is written as `\2e`, the form of Dovecot's
// listescape plugin with its default escape character; Dovecot shows the name with its
// '.' when the plugin is on:
//
//   mail_plugins = $mail_plugins listescape     (listescape_char defaults to '\')
//
// Without the plugin the folder is still there, named "a\2eb". Everything else is written
// literally, because plain Dovecot reads it that way: '~' (Dovecot refuses to create a name
// starting with '~' but lists `.~x` as "~x"), '\', '%', '*'. Only a '\' followed by two
// hex digits is written as `\5c`, so listescape cannot misread it; plain Dovecot shows that
// rare name with "\5c". '/' never reaches a component (it separates them).
//
// What cannot be stored: an empty component, a control character (U+0000-U+001F, U+007F),
// invalid UTF-8, and a whole path whose directory name (the '.', then every component joined
// by '.') is longer than kMaxDirName bytes: Maildir++ is flat, so the limit is on the path,
// not on each level.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace junction::jobs {

// NAME_MAX on the file systems the proxy runs on (ext4, xfs, btrfs, tmpfs).
inline constexpr std::size_t kMaxDirName = 255;

struct maildir_name {
  std::optional<std::string> name;  // without the leading '.'; "" for INBOX
  std::string error;                // why not, when name is empty: "is too long ...", ...
};

// The Maildir++ directory name under the root for a '/'-separated UTF-8 folder path.
maildir_name maildir_folder_name(std::string_view folder);

// The reverse: a Maildir++ directory name without its leading '.' ("Work.Sub", "a\2eb",
// "&AMk-t&AOk-") to the folder path ("Work/Sub", "a.b", "Été"); nullopt when the name is
// not one this layout produces (invalid modified UTF-7, empty components).
std::optional<std::string> folder_from_maildir_name(std::string_view name);

struct storable_folder {
  std::string path;    // `folder` itself when it can be stored
  std::string reason;  // empty, or why the path differs ("the name is too long ...")
};

// A folder path the mailbox can store, stable for a given `folder`: `folder` itself when it
// can be stored; otherwise control characters and invalid UTF-8 bytes become '_', empty
// components "_", the path is cut at a UTF-8 boundary where needed, and "~" plus 8 hex
// digits of the SHA-256 of `folder` is appended, so two different names never meet.
storable_folder make_storable(std::string_view folder);

}  // namespace junction::jobs
