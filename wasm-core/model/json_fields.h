// Reading the model's JSON documents (retrieval tasks, SMTP accounts): bounded parsing of
// untrusted text, a reader that reports one error per field of the wrong type, enum names,
// and the checks the models share. Internal to wasm-core/model/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/retrieval_task.h"  // parse_limits
#include "model/validation.h"

namespace junction::model::fields {

template <typename Enum, std::size_t N>
using enum_names = std::array<std::pair<Enum, std::string_view>, N>;

template <typename Enum, std::size_t N>
std::string name_of(const enum_names<Enum, N>& names, Enum value) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return std::string(name);
  }
  return "unknown";
}

template <typename Enum, std::size_t N>
bool value_of(const enum_names<Enum, N>& names, std::string_view text, Enum& out) {
  for (const auto& [value, name] : names) {
    if (name == text) {
      out = value;
      return true;
    }
  }
  return false;
}

// "must be one of none, starttls, ssl"
template <typename Enum, std::size_t N>
std::string one_of_message(const enum_names<Enum, N>& names) {
  std::string message = "must be one of ";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) message += ", ";
    message += names[i].second;
  }
  return message;
}

template <std::size_t N>
bool is_known(const std::array<std::string_view, N>& keys, std::string_view key) {
  for (const std::string_view known : keys) {
    if (known == key) return true;
  }
  return false;
}

// True when `document` nests deeper than max_depth (a scalar or empty container is depth 1).
// Iterative: hostile nesting must not exhaust the stack, least of all WASM's small one.
bool nests_deeper_than(const nlohmann::json& document, std::size_t max_depth);

// A whole number, as JSON Schema's "integer" defines it: 995 and 995.0 both count.
std::optional<std::int64_t> whole_number(const nlohmann::json& value);

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
std::string without_exception_tag(std::string_view what);

// Parses untrusted JSON text within `limits` (size, and depth while parsing, so a deep
// container never reaches memory). Empty on success, else the one error (field "").
std::vector<field_error> parse_text(std::string_view json_text, const parse_limits& limits,
                                    nlohmann::json& out);

// A user name or password: required or not, at most max_bytes, valid UTF-8, and no CR, LF or
// NUL (they would end a protocol command early and let the value inject another one).
void check_credential(std::string_view field, std::string_view value, std::size_t max_bytes,
                      bool required, std::vector<field_error>& errors);

bool is_hex_digit(char c);

// Reads the fields of one JSON object, collecting one error per field that has the wrong type.
// Each reader leaves `out` unchanged (its default) when the key is absent or wrong. Errors
// name the field as prefix + key.
class field_reader {
 public:
  field_reader(const nlohmann::json& object, std::string prefix, std::vector<field_error>& errors)
      : object_(object), prefix_(std::move(prefix)), errors_(errors) {}

  void read_string(std::string_view key, std::string& out);
  void read_bool(std::string_view key, bool& out);

  template <typename Number>
  void read_number(std::string_view key, Number& out, std::int64_t min, std::int64_t max,
                   const std::string& message) {
    const nlohmann::json* value = find(key);
    if (value == nullptr) return;
    const std::optional<std::int64_t> number = whole_number(*value);
    if (!number || *number < min || *number > max) return fail(key, message);
    out = static_cast<Number>(*number);
  }

  template <typename Enum, std::size_t N>
  void read_enum(std::string_view key, Enum& out, const enum_names<Enum, N>& names) {
    const nlohmann::json* value = find(key);
    if (value == nullptr) return;
    if (!value->is_string() || !value_of(names, value->get_ref<const std::string&>(), out)) {
      fail(key, one_of_message(names));
    }
  }

  // The object under `key`, or nullptr when absent or (reported) not an object.
  const nlohmann::json* read_object(std::string_view key);

  template <std::size_t N>
  void keep_unknown(const std::array<std::string_view, N>& known, nlohmann::json& extra) {
    for (const auto& [key, value] : object_.items()) {
      if (!is_known(known, key)) extra[key] = value;
    }
  }

 private:
  const nlohmann::json* find(std::string_view key) const;
  void fail(std::string_view key, std::string message);

  const nlohmann::json& object_;
  std::string prefix_;
  std::vector<field_error>& errors_;
};

}  // namespace junction::model::fields
