// Folder names on disk, as Dovecot 2.3's Maildir++ layout (`mail_location = maildir:DIR`)
// reads them. Checked against Dovecot 2.3.19 with `doveadm mailbox create` / `mailbox list`:
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
// not allowed in mailbox name: '.'"). Junction writes it as `\2e`, the form of Dovecot's
// listescape plugin with its default escape character; Dovecot shows the name with its
// '.' when the plugin is on:
//
//   mail_plugins = $mail_plugins listescape     (listescape_char defaults to '\')
//
// Without the plugin the folder is still there, named "a\2eb". Everything else is written
// literally, because plain Dovecot reads it that way: '~' (Dovecot refuses to create a name
// starting with '~' but lists `.~x` as "~x"), '\', '%', '*'. Only a '\' followed by two
// hex digits is written as `\5c`, so listescape cannot misread it; plain Dovecot shows that
// rare name with "\5c". '/' never reaches a component (it separates them); control
// characters, invalid UTF-8 and empty components are refused here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace junction::mailbox {

// The Maildir++ directory name under the root for a '/'-separated UTF-8 folder path,
// without the leading '.'; "" for INBOX. Throws std::invalid_argument for a name that
// cannot be stored (empty component, control character, invalid UTF-8, longer than a
// directory name may be).
std::string maildir_folder_name(std::string_view folder);

// The reverse: a Maildir++ directory name without its leading '.' ("Work.Sub", "a\2eb",
// "&AMk-t&AOk-") to the folder path ("Work/Sub", "a.b", "Été"); nullopt when the name is
// not one this layout produces (invalid modified UTF-7, empty components).
std::optional<std::string> folder_from_maildir_name(std::string_view name);

}  // namespace junction::mailbox
