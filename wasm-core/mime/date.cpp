// RFC 5322 §3.3 date-time, with the obsolete syntax of §4.3, to seconds since 1970 UTC.
// Calendar arithmetic is done here rather than with libc time functions, so the native and
// the WASM builds agree and nothing depends on the local time zone.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "mime/headers.h"

namespace junction::mime {
namespace {

struct token {
  enum kind_t { number, word, punct } kind;
  std::string_view text;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lower(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

// Comments (nesting, quoted-pairs) and FWS separate tokens and are otherwise dropped. Any
// character that has no place in a date-time makes the whole value invalid.
std::optional<std::vector<token>> tokenize(std::string_view value) {
  std::vector<token> tokens;
  std::size_t depth = 0;
  for (std::size_t i = 0; i < value.size();) {
    char c = value[i];
    if (depth > 0) {
      if (c == '\\') ++i;
      if (c == '(') ++depth;
      if (c == ')') --depth;
      ++i;
    } else if (c == '(') {
      depth = 1;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (is_digit(c) || is_alpha(c)) {
      std::size_t j = i;
      while (j < value.size() && (is_digit(c) ? is_digit(value[j]) : is_alpha(value[j]))) ++j;
      tokens.push_back({is_digit(c) ? token::number : token::word, value.substr(i, j - i)});
      i = j;
    } else if (c == ',' || c == ':' || c == '+' || c == '-') {
      tokens.push_back({token::punct, value.substr(i, 1)});
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return tokens;
}

// Short or full English name; returns the index in `names` or -1.
template <std::size_t N>
int find_name(std::string_view word, const std::string_view (&names)[N]) {
  for (std::size_t k = 0; k < N; ++k) {
    if (equals_lower(word, names[k].substr(0, 3)) || equals_lower(word, names[k])) {
      return static_cast<int>(k);
    }
  }
  return -1;
}

constexpr std::string_view kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                      "friday", "saturday", "sunday"};
constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};

// At most `max_digits` digits, so the value cannot overflow.
std::optional<int> read_number(const token& t, std::size_t min_digits, std::size_t max_digits) {
  if (t.kind != token::number || t.text.size() < min_digits || t.text.size() > max_digits) {
    return std::nullopt;
  }
  int v = 0;
  for (char c : t.text) v = v * 10 + (c - '0');
  return v;
}

bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t y, int month) {
  static constexpr int kLength[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(y) ? 29 : kLength[month - 1];
}

// Leap years in [1, y], for y >= 0.
std::int64_t leap_years_through(std::int64_t y) {
  return y / 4 - y / 100 + y / 400;
}

// Days from 1970-01-01 to the given proleptic Gregorian date (year >= 1).
std::int64_t days_from_civil(std::int64_t y, int month, int day) {
  static constexpr int kBeforeMonth[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  std::int64_t days = (y - 1970) * 365 + (leap_years_through(y - 1) - leap_years_through(1969));
  days += kBeforeMonth[month - 1] + (month > 2 && is_leap(y) ? 1 : 0);
  return days + day - 1;
}

// obs-zone: the US zones of RFC 822; military letters are read as -0000 (§4.3: their sign was
// given wrongly in RFC 822), as is any other alphabetic zone whose meaning is not known.
std::optional<int> alphabetic_zone_minutes(std::string_view word) {
  struct zone {
    std::string_view name;
    int minutes;
  };
  static constexpr zone kZones[] = {
      {"ut", 0},        {"gmt", 0},       {"est", -5 * 60}, {"edt", -4 * 60}, {"cst", -6 * 60},
      {"cdt", -5 * 60}, {"mst", -7 * 60}, {"mdt", -6 * 60}, {"pst", -8 * 60}, {"pdt", -7 * 60}};
  for (const auto& z : kZones) {
    if (equals_lower(word, z.name)) return z.minutes;
  }
  if (word.size() <= 5) return 0;
  return std::nullopt;
}

}  // namespace

// date-time   = [ day-of-week "," ] date time [CFWS]
// date        = day month year
// time        = time-of-day zone
// time-of-day = hour ":" minute [ ":" second ]
// zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
// Lenient beyond §4.3: the comma after the day name may be missing, day and month names may
// be written in full, hour/minute/second may have one digit, a missing zone reads as -0000,
// and one word after a numeric zone ("-0800 PST" without parentheses) is ignored.
std::optional<std::int64_t> parse_date(std::string_view value) {
  auto parsed = tokenize(value);
  if (!parsed) return std::nullopt;
  const std::vector<token>& t = *parsed;
  std::size_t i = 0;
  auto at = [&](std::size_t k) -> const token* { return k < t.size() ? &t[k] : nullptr; };
  auto is_punct = [&](std::size_t k, char c) {
    return k < t.size() && t[k].kind == token::punct && t[k].text[0] == c;
  };

  if (at(i) && at(i)->kind == token::word) {
    if (find_name(at(i)->text, kDays) < 0) return std::nullopt;
    ++i;
    if (is_punct(i, ',')) ++i;
  }
  if (!at(i)) return std::nullopt;
  auto day = read_number(*at(i++), 1, 2);
  if (!at(i) || at(i)->kind != token::word) return std::nullopt;
  int month = find_name(at(i++)->text, kMonths) + 1;
  if (!at(i)) return std::nullopt;
  // year = 4*DIGIT; obs-year = 2*DIGIT (§4.3: 00-49 are 2000-2049, 50-99 and three digits
  // are counted from 1900).
  auto year = read_number(*at(i++), 2, 4);
  if (!day || month == 0 || !year) return std::nullopt;
  std::int64_t y = *year;
  if (at(i - 1)->text.size() == 2) {
    y += y < 50 ? 2000 : 1900;
  } else if (at(i - 1)->text.size() == 3) {
    y += 1900;
  }
  if (y < 1900 || *day < 1 || *day > days_in_month(y, month)) return std::nullopt;

  if (!at(i)) return std::nullopt;
  auto hour = read_number(*at(i++), 1, 2);
  if (!is_punct(i++, ':') || !at(i)) return std::nullopt;
  auto minute = read_number(*at(i++), 1, 2);
  std::optional<int> second = 0;
  if (is_punct(i, ':')) {
    ++i;
    if (!at(i)) return std::nullopt;
    second = read_number(*at(i++), 1, 2);
  }
  if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }

  int zone_minutes = 0;
  if (is_punct(i, '+') || is_punct(i, '-')) {
    int sign = t[i].text[0] == '-' ? -1 : 1;
    ++i;
    if (!at(i)) return std::nullopt;
    auto hhmm = read_number(*at(i++), 4, 4);
    if (!hhmm || *hhmm / 100 > 23 || *hhmm % 100 > 59) return std::nullopt;
    zone_minutes = sign * (*hhmm / 100 * 60 + *hhmm % 100);
    if (at(i) && at(i)->kind == token::word) ++i;
  } else if (at(i) && at(i)->kind == token::word) {
    auto minutes = alphabetic_zone_minutes(at(i++)->text);
    if (!minutes) return std::nullopt;
    zone_minutes = *minutes;
  }
  if (i != t.size()) return std::nullopt;

  std::int64_t seconds =
      days_from_civil(y, month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
  return seconds - static_cast<std::int64_t>(zone_minutes) * 60;
}

}  // namespace junction::mime
