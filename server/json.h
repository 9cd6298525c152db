#pragma once

#include <string>
#include <string_view>

namespace burnrate {

// Appends `text` as a JSON string literal, quotes included. Control bytes become \uXXXX
// and bytes that are not valid UTF-8 become U+FFFD, so any input (a rejected line of a
// request body, say) gives valid JSON.
void AppendJsonQuoted(std::string* out, std::string_view text);

std::string JsonQuoted(std::string_view text);

}  // namespace burnrate
