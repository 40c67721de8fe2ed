// Folder names on disk, as Dovecot 2.3's Maildir++ layout (`mail_location = maildir:DIR`)
// reads them. The rule itself (encoding, what can be stored, how long a name may be) lives
// in the core, wasm-core/jobs/maildir_folder.h, so that a retrieval job maps a source folder
// to a name this Maildir accepts before it delivers anything; these are the proxy's
// throwing forms of it.
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
