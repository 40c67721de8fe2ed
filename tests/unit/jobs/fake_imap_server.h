// An IMAP server for the job tests (RFC 3501): CAPABILITY, STARTTLS, LOGIN, LIST, EXAMINE,
// UID SEARCH, UID FETCH and LOGOUT over folders with '/' as delimiter. It answers everything a
// retrieval needs, refuses everything that could change the source, and records any such
// attempt in `modifications` (SELECT, STORE, EXPUNGE, COPY/MOVE, BODY[] without PEEK ...).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_server.h"

namespace junction::jobs::testing {

struct imap_message {
  std::uint64_t uid = 0;
  std::string content;       // CRLF line ends
  std::string flags;         // e.g. "\\Seen \\Flagged"
  std::string internaldate;  // e.g. "17-Jul-1996 02:44:25 -0700"
};

struct imap_folder {
  std::string name;                            // full name, '/' between levels
  std::string attributes = "\\HasNoChildren";  // as LIST shows them
  std::uint64_t uidvalidity = 1;
  std::uint64_t uidnext = 1;
  std::vector<imap_message> messages;  // in sequence-number order
};

class fake_imap_server : public fake_server {
 public:
  std::string user = "alice";
  std::string password = "secret";
  bool starttls = false;               // STARTTLS offered (before TLS)
  bool capability_in_greeting = true;  // [CAPABILITY ...] in the greeting
  bool reverse_fetch = false;          // FETCH responses in descending UID order
  // UID -> how many body FETCHes answer OK but leave it out (a per-message failure some
  // servers report that way); a negative count: every one.
  std::map<std::uint64_t, int> withhold;
  std::map<std::uint64_t, int> withhold_headers;  // the same for FETCHes without the body
  std::vector<imap_folder> folders;
  std::vector<std::string> modifications;  // commands that could have changed the source

  imap_folder& add_folder(std::string name, std::string attributes = "\\HasNoChildren",
                          std::uint64_t uidvalidity = 1000) {
    imap_folder f;
    f.name = std::move(name);
    f.attributes = std::move(attributes);
    f.uidvalidity = uidvalidity;
    folders.push_back(std::move(f));
    return folders.back();
  }

  imap_folder* folder(std::string_view name) {
    for (auto& f : folders) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  // Appends with the next UID.
  void append(std::string_view name, std::string content, std::string flags = "",
              std::string internaldate = "01-Jan-2024 10:00:00 +0000") {
    imap_folder& f = *folder(name);
    f.messages.push_back(
        {f.uidnext++, std::move(content), std::move(flags), std::move(internaldate)});
  }

  // The server lost its UID database: a new UIDVALIDITY, every message a new UID from `first`.
  void renumber(std::string_view name, std::uint64_t first) {
    imap_folder& f = *folder(name);
    ++f.uidvalidity;
    f.uidnext = first;
    for (auto& m : f.messages) m.uid = f.uidnext++;
  }

  std::string first_word(std::string_view line) const override {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return {};
    auto rest = line.substr(sp + 1);
    auto word = upper(rest.substr(0, rest.find(' ')));
    if (word == "UID") {
      rest =
          rest.substr(rest.find(' ') == std::string_view::npos ? rest.size() : rest.find(' ') + 1);
      word += " " + upper(rest.substr(0, rest.find(' ')));
    }
    return word;
  }

 protected:
  void begin_session() override {
    authenticated_ = false;
    selected_ = npos;
    if (capability_in_greeting) {
      reply("* OK [CAPABILITY " + capabilities() + "] fake IMAP ready\r\n");
    } else {
      reply("* OK fake IMAP ready\r\n");
    }
  }

  void handle_line(const std::string& line) override {
    const auto sp = line.find(' ');
    if (sp == std::string::npos) return reply("* BAD missing command\r\n");
    const std::string tag = line.substr(0, sp);
    const std::string cmd = first_word(line);
    std::string_view args = line;
    args.remove_prefix(sp + 1);
    args.remove_prefix(std::min(args.size(), cmd.size()));
    if (!args.empty() && args.front() == ' ') args.remove_prefix(1);

    if (cmd == "CAPABILITY") {
      return reply("* CAPABILITY " + capabilities() + "\r\n" + tag + " OK done\r\n");
    }
    if (cmd == "NOOP") return reply(tag + " OK done\r\n");
    if (cmd == "LOGOUT") {
      reply("* BYE logging out\r\n" + tag + " OK LOGOUT completed\r\n");
      close_after_reply();
      return;
    }
    if (cmd == "STARTTLS") {
      if (!starttls || tls() || authenticated_) return reply(tag + " BAD not now\r\n");
      reply(tag + " OK begin TLS negotiation now\r\n");
      begin_tls();
      return;
    }
    if (cmd == "LOGIN") {
      std::string u, p;
      if (authenticated_ || !astring(args, u) || !astring(args, p)) {
        return reply(tag + " BAD syntax\r\n");
      }
      if (u != user || p != password) {
        return reply(tag + " NO [AUTHENTICATIONFAILED] invalid credentials\r\n");
      }
      authenticated_ = true;
      return reply(tag + " OK logged in\r\n");
    }
    if (!authenticated_) return reply(tag + " BAD log in first\r\n");

    static const char* const kModifying[] = {
        "SELECT",   "STORE",  "UID STORE", "EXPUNGE", "UID EXPUNGE", "COPY",  "UID COPY", "MOVE",
        "UID MOVE", "APPEND", "CREATE",    "DELETE",  "RENAME",      "CLOSE", "SUBSCRIBE"};
    for (const char* m : kModifying) {
      if (cmd == m) {
        modifications.push_back(line);
        return reply(tag + " NO this test server refuses " + cmd + "\r\n");
      }
    }
    if (cmd == "LIST") {
      std::string r;
      for (const auto& f : folders) {
        r += "* LIST (" + f.attributes + ") \"/\" \"" + f.name + "\"\r\n";
      }
      return reply(r + tag + " OK LIST completed\r\n");
    }
    if (cmd == "EXAMINE") {
      std::string name;
      if (!astring(args, name)) return reply(tag + " BAD syntax\r\n");
      selected_ = npos;
      for (std::size_t i = 0; i < folders.size(); ++i) {
        if (folders[i].name == name &&
            upper(folders[i].attributes).find("\\NOSELECT") == std::string::npos) {
          selected_ = i;
        }
      }
      if (selected_ == npos) return reply(tag + " NO no such mailbox\r\n");
      const imap_folder& f = folders[selected_];
      return reply("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* " +
                   std::to_string(f.messages.size()) + " EXISTS\r\n* 0 RECENT\r\n" +
                   "* OK [UIDVALIDITY " + std::to_string(f.uidvalidity) + "] UIDs valid\r\n" +
                   "* OK [UIDNEXT " + std::to_string(f.uidnext) + "] predicted next UID\r\n" + tag +
                   " OK [READ-ONLY] EXAMINE completed\r\n");
    }
    if (selected_ == npos) return reply(tag + " BAD no mailbox selected\r\n");
    const imap_folder& f = folders[selected_];
    if (cmd == "UID SEARCH") {
      // Only the form the jobs use: UID SEARCH UID <set>.
      if (upper(args.substr(0, 4)) != "UID ") return reply(tag + " BAD unsupported search\r\n");
      const std::string set(args.substr(4));
      std::vector<std::uint64_t> uids;
      for (const auto& m : f.messages) {
        if (in_set(set, m.uid, f)) uids.push_back(m.uid);
      }
      std::sort(uids.begin(), uids.end());
      std::string r = "* SEARCH";
      for (auto u : uids) r += " " + std::to_string(u);
      return reply(r + "\r\n" + tag + " OK SEARCH completed\r\n");
    }
    if (cmd == "UID FETCH") {
      const auto space = args.find(' ');
      if (space == std::string_view::npos) return reply(tag + " BAD syntax\r\n");
      const std::string set(args.substr(0, space));
      const std::string items = upper(args.substr(space + 1));
      if (items.find("BODY[") != std::string::npos ||
          items.find("RFC822.TEXT") != std::string::npos ||
          items.find("RFC822)") != std::string::npos ||
          items.find("RFC822 ") != std::string::npos) {
        modifications.push_back(line);  // would set \Seen
      }
      std::vector<std::size_t> hits;
      for (std::size_t i = 0; i < f.messages.size(); ++i) {
        if (in_set(set, f.messages[i].uid, f)) hits.push_back(i);
      }
      if (reverse_fetch) std::reverse(hits.begin(), hits.end());
      std::string r;
      const bool body_fetch = items.find("BODY.PEEK[]") != std::string::npos;
      for (auto i : hits) {
        auto& table = body_fetch ? withhold : withhold_headers;
        auto w = table.find(f.messages[i].uid);
        if (w != table.end() && w->second != 0) {
          if (w->second > 0) --w->second;
          continue;
        }
        r += fetch_response(i, f.messages[i], items);
      }
      return reply(r + tag + " OK FETCH completed\r\n");
    }
    reply(tag + " BAD unknown command\r\n");
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::string capabilities() const {
    std::string c = "IMAP4rev1 AUTH=PLAIN";
    if (starttls && !tls()) c += " STARTTLS";
    return c;
  }

  // astring as the jobs send it: a quoted string or an atom.
  static bool astring(std::string_view& s, std::string& out) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    out.clear();
    if (s.empty()) return false;
    if (s.front() == '"') {
      std::size_t i = 1;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out += s[i];
      }
      if (i >= s.size()) return false;
      s.remove_prefix(i + 1);
      return true;
    }
    auto end = s.find(' ');
    out = std::string(s.substr(0, end));
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    return true;
  }

  // sequence-set of UIDs; '*' is the highest UID in the folder, and a:b means the same as
  // b:a (RFC 3501 §9), so n:* always includes the highest UID.
  static bool in_set(const std::string& set, std::uint64_t uid, const imap_folder& f) {
    std::uint64_t star = 0;
    for (const auto& m : f.messages) star = std::max(star, m.uid);
    auto number = [&](std::string_view s) -> std::uint64_t {
      if (s == "*") return star;
      std::uint64_t n = 0;
      for (char c : s) n = n * 10 + static_cast<std::uint64_t>(c - '0');
      return n;
    };
    std::string_view rest = set;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      auto colon = item.find(':');
      std::uint64_t a = number(item.substr(0, colon));
      std::uint64_t b = colon == std::string_view::npos ? a : number(item.substr(colon + 1));
      if (a > b) std::swap(a, b);
      if (uid >= a && uid <= b) return true;
    }
    return false;
  }

  static std::string message_id_field(const std::string& content) {
    std::string out;
    std::size_t pos = 0;
    bool in_field = false;
    while (pos < content.size()) {
      auto eol = content.find("\r\n", pos);
      if (eol == std::string::npos) eol = content.size();
      std::string_view l(content.data() + pos, eol - pos);
      if (l.empty()) break;  // end of the header
      if (l.front() == ' ' || l.front() == '\t') {
        if (in_field) out += std::string(l) + "\r\n";
      } else {
        in_field = upper(l.substr(0, 11)) == "MESSAGE-ID:";
        if (in_field) out += std::string(l) + "\r\n";
      }
      pos = eol + 2;
    }
    return out + "\r\n";
  }

  static std::string fetch_response(std::size_t index, const imap_message& m,
                                    const std::string& items) {
    std::string r = "* " + std::to_string(index + 1) + " FETCH (UID " + std::to_string(m.uid);
    if (items.find("FLAGS") != std::string::npos) r += " FLAGS (" + m.flags + ")";
    if (items.find("INTERNALDATE") != std::string::npos) {
      r += " INTERNALDATE \"" + m.internaldate + "\"";
    }
    if (items.find("RFC822.SIZE") != std::string::npos) {
      r += " RFC822.SIZE " + std::to_string(m.content.size());
    }
    if (items.find("HEADER.FIELDS (MESSAGE-ID)") != std::string::npos) {
      const std::string h = message_id_field(m.content);
      r += " BODY[HEADER.FIELDS (MESSAGE-ID)] {" + std::to_string(h.size()) + "}\r\n" + h;
    } else if (items.find("[]") != std::string::npos) {
      r += " BODY[] {" + std::to_string(m.content.size()) + "}\r\n" + m.content;
    }
    return r + ")\r\n";
  }

  bool authenticated_ = false;
  std::size_t selected_ = npos;
};

}  // namespace junction::jobs::testing
