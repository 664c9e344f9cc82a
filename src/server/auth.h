#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// True when `presented` equals one of `secrets`. Takes the same time whichever secret matches
/// and wherever the first difference is: every secret is compared over its full length, with no
/// early exit, so timing reveals neither a secret's content nor which one matched.
bool MatchesAnySecret(std::string_view presented, const std::vector<std::string>& secrets);

/// The user and password of an `Authorization: Basic <base64>` header value, if it is one.
std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(std::string_view header);

}  // namespace sluice
