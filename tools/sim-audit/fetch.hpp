#pragma once
// Talking to a simulator's test endpoints over HTTP: one GET (or POST), synchronous for the caller (sim-audit is a
// one-shot command), on an io_context of its own.

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace chargerecon::sim_audit {

// GET `target` (relative to base_url's path, e.g. "sim/state") and the body of a 200 answer.
// Plain http only to a loopback host, like every client of ours.
// Errors: those of http::client (invalid_url, plain_http_refused, connect_failed, request_timeout,
// response_too_large, ...), and http_protocol_error for a status other than 200, naming the URL.
result<std::string> fetch_state(std::string_view base_url, std::string_view target, std::chrono::milliseconds timeout);

// POST `body` (JSON) to `target`, e.g. a simulator's fault settings; the body of a 200 answer.
// Errors: as fetch_state.
result<std::string> post_json(std::string_view base_url, std::string_view target, std::string body,
                              std::chrono::milliseconds timeout);

}  // namespace chargerecon::sim_audit
