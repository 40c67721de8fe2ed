// Structured fields the header reader summarises. Private to the mime layer.
#pragma once

#include <string>
#include <string_view>

namespace junction::mime::detail {

// The msg-id of a Message-ID field (RFC 5322 §3.6.4) without its angle brackets, comments
// and whitespace; the first token when the brackets are missing; empty when there is none.
std::string extract_message_id(std::string_view value);

// An address-list (From, To: RFC 5322 §3.4) for display: display names, group names and
// comments decoded (RFC 2047), addresses kept as written. A display name that holds a
// special such as ',' after decoding is quoted again, so the list stays readable.
std::string decode_address_list(std::string_view value);

}  // namespace junction::mime::detail
