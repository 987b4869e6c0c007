// SPDX-License-Identifier: MIT
// Definitions for crier/client/batch.hpp.
#ifndef CRIER_CLIENT_IMPL_BATCH_IPP
#define CRIER_CLIENT_IMPL_BATCH_IPP

#include <crier/client/batch.hpp>

#include <simdjson.h>

namespace crier::client {
namespace detail {

inline std::string_view trim_json_whitespace(std::string_view s) noexcept {
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The exact JSON text of any value (simdjson 3.0's On-Demand API). simdjson's raw views may carry
/// the whitespace that follows the value; it is not part of the value.
inline simdjson::error_code raw_value_text(simdjson::ondemand::value& v, std::string_view& out) {
    simdjson::ondemand::json_type type;
    if (auto error = v.type().get(type)) return error;
    simdjson::error_code error = simdjson::SUCCESS;
    switch (type) {
        case simdjson::ondemand::json_type::object: {
            simdjson::ondemand::object o;
            error = v.get_object().get(o);
            if (!error) error = o.raw_json().get(out);
            break;
        }
        case simdjson::ondemand::json_type::array: {
            simdjson::ondemand::array a;
            error = v.get_array().get(a);
            if (!error) error = a.raw_json().get(out);
            break;
        }
        case simdjson::ondemand::json_type::number: {
            out = v.raw_json_token();  // taken first: it does not validate, get_number() does
            simdjson::ondemand::number n;
            error = v.get_number().get(n);
            break;
        }
        case simdjson::ondemand::json_type::boolean: {
            out = v.raw_json_token();
            bool b = false;
            error = v.get_bool().get(b);
            break;
        }
        default: {  // null; strings are handled by the caller
            out = v.raw_json_token();
            bool is_null = false;
            error = v.is_null().get(is_null);
            if (!error && !is_null) error = simdjson::INCORRECT_TYPE;
            break;
        }
    }
    out = trim_json_whitespace(out);
    return error;
}

inline simdjson::error_code parse_batch_items(simdjson::ondemand::document& doc,
                                              std::vector<batch_item>& items) {
    simdjson::ondemand::array array;
    if (auto error = doc.get_array().get(array)) return error;
    for (auto element : array) {
        simdjson::ondemand::object object;
        if (auto error = element.get_object().get(object)) return error;
        batch_item item;
        bool has_type = false;
        for (auto field : object) {
            std::string_view key;
            if (auto error = field.unescaped_key().get(key)) return error;
            simdjson::ondemand::value value;
            if (auto error = field.value().get(value)) return error;
            if (key == "type") {
                std::string_view type;
                if (auto error = value.get_string().get(type)) return error;
                item.type.assign(type);
                has_type = true;
            } else if (key == "id") {
                simdjson::ondemand::json_type t;
                if (auto error = value.type().get(t)) return error;
                std::string_view id;
                if (t == simdjson::ondemand::json_type::string) {
                    if (auto error = value.get_string().get(id)) return error;
                } else if (t == simdjson::ondemand::json_type::number) {
                    if (auto error = raw_value_text(value, id)) return error;
                } else {
                    return simdjson::INCORRECT_TYPE;
                }
                item.id.assign(id);
            } else if (key == "data") {
                simdjson::ondemand::json_type t;
                if (auto error = value.type().get(t)) return error;
                std::string_view data;
                if (t == simdjson::ondemand::json_type::string) {
                    if (auto error = value.get_string().get(data)) return error;
                } else {
                    if (auto error = raw_value_text(value, data)) return error;
                }
                item.data.assign(data);
            }
            // Other members are skipped by the iteration itself.
        }
        if (!has_type || item.type.empty()) return simdjson::INCORRECT_TYPE;
        items.push_back(std::move(item));
    }
    // Once the array is consumed, a location to read from means content after it.
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return simdjson::TRAILING_CONTENT;
    return simdjson::SUCCESS;
}

}  // namespace detail

CRIER_DECL std::error_code parse_batch(std::string_view json, std::vector<batch_item>& out) {
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc)) return errc::invalid_json;
    std::vector<batch_item> items;
    if (detail::parse_batch_items(doc, items)) return errc::invalid_json;
    out = std::move(items);
    return {};
}

}  // namespace crier::client

#endif
