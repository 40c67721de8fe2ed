#include "model/json_fields.h"

#include <cmath>
#include <limits>

namespace junction::model::fields {

using nlohmann::json;

bool nests_deeper_than(const json& document, std::size_t max_depth) {
  std::vector<std::pair<const json*, std::size_t>> pending{{&document, 1}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (depth > max_depth) return true;
    if (value->is_structured()) {
      for (const json& child : *value) pending.emplace_back(&child, depth + 1);
    }
  }
  return false;
}

std::optional<std::int64_t> whole_number(const json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    // Also false for NaN. The bound keeps the conversion below defined.
    if (!(number >= -1e15 && number <= 1e15) || std::trunc(number) != number) return std::nullopt;
    return static_cast<std::int64_t>(number);
  }
  return std::nullopt;
}

std::string without_exception_tag(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    const std::size_t end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

std::vector<field_error> parse_text(std::string_view json_text, const parse_limits& limits,
                                    json& out) {
  if (json_text.size() > limits.max_text_bytes) {
    return {{"", "JSON text is " + std::to_string(json_text.size()) + " bytes, the limit is " +
                     std::to_string(limits.max_text_bytes)}};
  }
  // A raw NUL is never valid JSON, but nlohmann's reader takes it as the end of the input and
  // would ignore whatever follows (a document that says more than was checked).
  if (const auto nul = json_text.find('\0'); nul != std::string_view::npos) {
    return {{"", "JSON text holds a NUL byte at byte " + std::to_string(nul)}};
  }
  bool too_deep = false;
  // The callback's depth counts the containers already open, so the top object starts at 0.
  // Refusing a container that is too deep keeps it out of memory while the parser goes on.
  const auto limit_depth = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        static_cast<std::size_t>(depth) >= limits.max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  try {
    out = json::parse(json_text.begin(), json_text.end(), limit_depth);
  } catch (const json::exception& error) {
    return {{"", without_exception_tag(error.what())}};
  }
  if (too_deep) {
    return {{"", "nesting deeper than " + std::to_string(limits.max_depth) + " levels"}};
  }
  return {};
}

void check_credential(std::string_view field, std::string_view value, std::size_t max_bytes,
                      bool required, std::vector<field_error>& errors) {
  const auto fail = [&](std::string message) {
    errors.push_back({std::string(field), std::move(message)});
  };
  if (value.empty()) {
    if (required) fail("is required");
    return;
  }
  if (value.size() > max_bytes) {
    return fail("is " + std::to_string(value.size()) + " bytes long, the limit is " +
                std::to_string(max_bytes));
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return fail("must not contain line breaks or NUL characters");
  }
  std::string problem = utf8_problem(value);
  if (!problem.empty()) fail(std::move(problem));
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void field_reader::read_string(std::string_view key, std::string& out) {
  const json* value = find(key);
  if (value == nullptr) return;
  if (!value->is_string()) return fail(key, "must be a string");
  out = value->get<std::string>();
}

void field_reader::read_bool(std::string_view key, bool& out) {
  const json* value = find(key);
  if (value == nullptr) return;
  if (!value->is_boolean()) return fail(key, "must be true or false");
  out = value->get<bool>();
}

const json* field_reader::read_object(std::string_view key) {
  const json* value = find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) {
    fail(key, "must be an object");
    return nullptr;
  }
  return value;
}

const json* field_reader::find(std::string_view key) const {
  const auto found = object_.find(key);
  return found == object_.end() ? nullptr : &*found;
}

void field_reader::fail(std::string_view key, std::string message) {
  errors_.push_back({prefix_ + std::string(key), std::move(message)});
}

}  // namespace junction::model::fields
