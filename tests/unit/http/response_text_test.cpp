#include "http/response_text.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace chargerecon::http {
namespace {

struct written {
  std::string text;
  std::string thrown;  // the exception's type, when writing threw
};

template <class Write>
written write_with(Write write, const response& r, unsigned version, bool keep_alive) {
  written w;
  auto copy = r;
  try {
    write(w.text, std::move(copy), version, keep_alive);
  } catch (const std::invalid_argument&) {
    w.thrown = "invalid_argument";
  } catch (const std::length_error&) {
    w.thrown = "length_error";
  }
  return w;
}

// What the server sends: the head, then the body.
void written_by_server(std::string& out, response&& r, unsigned version, bool keep_alive) {
  std::string head = "stale head";
  std::string body = "stale body";
  write_response(std::move(r), version, keep_alive, head, body);
  out = head + body;
}

response make(unsigned status, std::vector<header_field> headers, std::string body) {
  response r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// Every answer the server writes must be the bytes Beast writes for it: clients, tests and the
// simulators' contract were all made against those.
TEST(response_text, is_what_beast_writes_for_every_kind_of_answer) {
  const std::vector<response> answers = {
      make(200, {}, R"({"ok":true})"),
      make(201, {{"Content-Type", "application/json"}}, R"({"reference_number":"B-000001","number":"I1"})"),
      make(409, {{"content-type", "application/json"}}, "{}"),
      make(429, {{"Content-Type", "application/json"}, {"Retry-After", "1"}}, R"({"error":"slow down"})"),
      make(401, {{"Content-Type", "application/json"}, {"WWW-Authenticate", "Bearer"}}, "{}"),
      make(200, {{"Content-Type", "text/html"}}, "<html><body>201</body></html>\n"),
      make(200, {{"Content-Type", "text/plain; version=0.0.4"}}, "metric 1\n"),
      make(503, {{"X-Spaced", "  padded value\t "}}, ""),
      make(500, {{"X-Empty", ""}, {"X-Blank", "   "}}, "x"),
      make(405, {{"Allow", "GET, POST"}}, R"({"error":"method not allowed"})"),
      make(299, {}, "unknown status"),
      make(999, {}, "highest status"),
      make(0, {}, "no status: a handler bug"),
      make(1000, {}, "too high"),
      make(99, {}, "too low"),
      make(200, {{"Retry-After", "1"}, {"retry-after", "2"}}, "repeated name"),
      make(200, {{"A", "1"}, {"B", "2"}, {"a", "3"}}, "repeated name apart"),
      make(200, {{"Content-Type", "a"}, {"Content-Type", "b"}}, "two content types"),
      make(200, {{"Content-Length", "3"}}, "a handler's length"),
      make(200, {{"content-length", "99"}, {"X", "y"}}, "a wrong length"),
      make(200, {{"Transfer-Encoding", "chunked"}}, "chunked asked for"),
      make(200, {{"Transfer-Encoding", "gzip, chunked"}}, "chunked last"),
      make(200, {{"Connection", "close"}}, "the handler closes"),
      make(200, {{"Connection", "keep-alive"}}, "the handler keeps"),
      make(200, {{"Connection", "upgrade, close"}}, "tokens"),
      make(204, {}, ""),
      make(204, {}, "a body on 204"),
      make(304, {}, ""),
      make(304, {{"ETag", "x"}}, "a body on 304"),
      make(100, {}, ""),
      make(101, {}, "a body on 101"),
      make(200, {{"", "nameless"}}, "odd field"),
      make(200, {{std::string(70000, 'n'), "v"}}, "huge name"),
      make(200, {{"X-Big", std::string(70000, 'v')}}, "huge value"),
      make(200, {{"X-Big", std::string(65533, 'v')}}, "largest value"),
      make(200, {}, std::string(100000, 'b')),
  };
  for (const unsigned version : {10U, 11U, 9U, 20U}) {
    for (const bool keep_alive : {true, false}) {
      for (std::size_t i = 0; i < answers.size(); ++i) {
        const auto expected = write_with(detail::append_response_by_beast, answers[i], version, keep_alive);
        const auto actual = write_with(written_by_server, answers[i], version, keep_alive);
        EXPECT_EQ(actual.thrown, expected.thrown) << "answer " << i << " version " << version << " keep_alive " << keep_alive;
        if (expected.thrown.empty()) {
          EXPECT_EQ(actual.text, expected.text) << "answer " << i << " version " << version << " keep_alive " << keep_alive;
        }
      }
    }
  }
}

TEST(response_text, a_plain_answer_reads_as_expected_and_keeps_its_body_apart) {
  std::string head, body;
  write_response(make(201, {{"Retry-After", "1"}}, "{}"), 11, false, head, body);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\nRetry-After: 1\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(body, "{}");
  write_response(make(404, {{"Content-Type", "text/plain"}}, "no"), 10, true, head, body);
  EXPECT_EQ(head, "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(body, "no");
  write_response(make(204, {}, ""), 11, true, head, body);
  EXPECT_EQ(head, "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(body, "");
}

}  // namespace
}  // namespace chargerecon::http
