#include "crm/answers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace chargerecon::crm {
namespace {

using namespace std::string_literals;

const std::string approved_charge =
    R"({"number":"I00002706","billing_system_customer_identifier":"CUST-0001","amount":12.99,"currency":"EUR",)"
    R"("local_currency_amount":12.99,"local_currency":"EUR","paid_through_date":"2026-12-31T23:59:59",)"
    R"("charge_status":"APPROVED","received_on":"2026-11-27T05:40:01","set_as_approved_on":"2026-11-27T05:41:00",)"
    R"("set_as_declined_on":null,"set_as_bad_request_on":null,"set_as_rejected_request_on":null})";

const std::string declined_charge =
    R"({ "number" : "I00002707", "billing_system_customer_identifier" : "CUST-0002", "amount" : 7.5,
        "currency" : "USD", "paid_through_date" : null, "charge_status" : "DECLINED",
        "received_on" : "2026-11-27T06:00:00", "set_as_approved_on" : null,
        "set_as_declined_on" : "2026-11-27T06:02:00", "set_as_bad_request_on" : null,
        "set_as_rejected_request_on" : null })";

std::string ok_answer(const std::string& data) {
  return R"({"data":)" + data + R"(,"status":{"code":"OK","description":"","message":""}})";
}

std::string page(const std::string& elements) { return ok_answer(R"({"charges_set":[)" + elements + "]}"); }

// A valid charge object with one field's value replaced by `value` (or removed when empty).
std::string charge_with(const std::string& field, const std::string& value) {
  std::string c =
      R"({"number":"I9","billing_system_customer_identifier":"C9","amount":1.00,"currency":"EUR",)"
      R"("local_currency_amount":1.00,"local_currency":"EUR","paid_through_date":null,"charge_status":"APPROVED",)"
      R"("received_on":"2026-01-01T00:00:00","set_as_approved_on":null,"set_as_declined_on":null,)"
      R"("set_as_bad_request_on":null,"set_as_rejected_request_on":null})";
  const std::string key = "\"" + field + "\":";
  const auto at = c.find(key);
  EXPECT_NE(at, std::string::npos) << field;
  auto end = at + key.size();
  int depth = 0;
  bool in_string = false;
  for (; end < c.size(); ++end) {
    const char ch = c[end];
    if (in_string) {
      if (ch == '\\')
        ++end;
      else if (ch == '"')
        in_string = false;
      continue;
    }
    if (ch == '"')
      in_string = true;
    else if (ch == '{' || ch == '[')
      ++depth;
    else if ((ch == '}' || ch == ']') && depth-- == 0)
      break;
    else if (ch == ',' && depth == 0)
      break;
  }
  if (value.empty()) {
    // Remove "key":value and one adjacent comma.
    if (c[end] == ',') return c.substr(0, at) + c.substr(end + 1);
    return c.substr(0, at - 1) + c.substr(end);
  }
  return c.substr(0, at + key.size()) + value + c.substr(end);
}

TEST(crm_answers, documented_charges_page_parses_with_every_field) {
  const auto body = page(approved_charge + "," + declined_charge);
  auto r = parse_list_charges(body);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->charges.size(), 2u);
  EXPECT_EQ(r->entries, 2u);
  EXPECT_TRUE(r->malformed.empty());
  const auto& a = r->charges[0];
  EXPECT_EQ(a.number, "I00002706");
  EXPECT_EQ(a.customer, "CUST-0001");
  EXPECT_EQ(a.amount, "12.99");
  EXPECT_EQ(a.currency, "EUR");
  EXPECT_EQ(a.local_currency_amount, "12.99");
  EXPECT_EQ(a.local_currency, "EUR");
  EXPECT_EQ(a.status, charge_status::approved);
  EXPECT_EQ(a.paid_through_date, "2026-12-31T23:59:59");
  EXPECT_EQ(a.received_on, "2026-11-27T05:40:01");
  EXPECT_EQ(a.set_as_approved_on, "2026-11-27T05:41:00");
  EXPECT_FALSE(a.set_as_declined_on);
  EXPECT_FALSE(a.set_as_bad_request_on);
  EXPECT_FALSE(a.set_as_rejected_request_on);
  EXPECT_EQ(a.raw_json, approved_charge);

  const auto& d = r->charges[1];
  EXPECT_EQ(d.number, "I00002707");
  EXPECT_EQ(d.amount, "7.5");
  EXPECT_EQ(d.status, charge_status::declined);
  EXPECT_FALSE(d.paid_through_date);
  EXPECT_FALSE(d.local_currency_amount);  // absent in earlier releases
  EXPECT_EQ(d.set_as_declined_on, "2026-11-27T06:02:00");
  // Byte for byte, spaces and line breaks included: billing gets exactly this.
  EXPECT_EQ(d.raw_json, declined_charge);
}

TEST(crm_answers, status_before_data_null_texts_and_unknown_fields_are_fine) {
  const auto body = R"({"status":{"code":"OK","description":null,"message":null},"extra":{"x":[1,2,{"y":null}]},)"
                    R"("data":{"total":1,"charges_set":[)" +
                    charge_with("currency", R"("EUR","future_field":{"nested":[true,false]})") + "]}}";
  auto r = parse_list_charges(body);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->charges.size(), 1u);
  EXPECT_EQ(r->charges[0].currency, "EUR");
}

TEST(crm_answers, amounts_keep_their_exact_text) {
  for (std::string amount : {"0.1", "1234567.89", "1e3", "-0.00", "12.990", "1E+2", "0"}) {
    auto r = parse_list_charges(page(charge_with("amount", amount)));
    ASSERT_TRUE(r) << amount;
    ASSERT_EQ(r->charges.size(), 1u) << amount << " " << (r->malformed.empty() ? "" : r->malformed[0].diagnostic);
    EXPECT_EQ(r->charges[0].amount, amount);
  }
  auto r = parse_list_charges(page(charge_with("local_currency_amount", "98765432109876543210.123456789")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->charges.size(), 1u);
  EXPECT_EQ(r->charges[0].local_currency_amount, "98765432109876543210.123456789");
}

TEST(crm_answers, strings_are_unescaped_but_raw_json_is_verbatim) {
  const auto element = charge_with("billing_system_customer_identifier", R"("Caf\u00e9 \"7\"")");
  auto r = parse_list_charges(page(element));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->charges.size(), 1u);
  EXPECT_EQ(r->charges[0].customer, "Caf\xC3\xA9 \"7\"");
  EXPECT_EQ(r->charges[0].raw_json, element);
}

TEST(crm_answers, empty_page_has_no_entries) {
  auto r = parse_list_charges(page(""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->entries, 0u);
  EXPECT_TRUE(r->charges.empty());
}

template <class T>
void expect_malformed(const result<T>& r, std::string_view expected_diagnostic) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::malformed_answer) << r.error().to_string();
  EXPECT_EQ(r.error().diagnostic, expected_diagnostic);
}

// The answer as a whole is refused for not being JSON.
void expect_not_json(const result<charges_page>& r) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::malformed_answer) << r.error().to_string();
  EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/list: answer: ", 0), 0u) << r.error().diagnostic;
}

TEST(crm_answers, truncation_at_every_cut_point_is_malformed) {
  const auto body = page(approved_charge + "," + declined_charge);
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    auto r = parse_list_charges(std::string_view(body).substr(0, cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, errc::malformed_answer) << "cut at " << cut << ": " << r.error().to_string();
    EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/list: ", 0), 0u) << r.error().diagnostic;
  }
}

struct bad_field {
  std::string field;
  std::string value;
  std::string expected;  // the diagnostic after "data.charges_set[1]."
};

TEST(crm_answers, each_charge_field_of_the_wrong_type_is_reported_with_its_path) {
  const std::vector<bad_field> cases = {
      {"number", "17", "number: expected a string, got number"},
      {"number", "null", "number: expected a string, got null"},
      {"number", R"("")", "number: empty"},
      {"billing_system_customer_identifier", "[]", "billing_system_customer_identifier: expected a string, got array"},
      {"billing_system_customer_identifier", "null", "billing_system_customer_identifier: expected a string, got null"},
      {"amount", R"("12.99")", "amount: expected a number, got string"},
      {"amount", "null", "amount: expected a number, got null"},
      {"amount", "true", "amount: expected a number, got boolean"},
      {"amount", "01", "amount: invalid number 01"},
      {"amount", "1.", "amount: invalid number 1."},
      {"currency", "{}", "currency: expected a string, got object"},
      {"currency", "null", "currency: expected a string, got null"},
      {"local_currency_amount", R"("1.00")", "local_currency_amount: expected a number or null, got string"},
      {"local_currency", "5", "local_currency: expected a string or null, got number"},
      {"charge_status", "1", "charge_status: expected a string, got number"},
      {"charge_status", "null", "charge_status: expected a string, got null"},
      {"charge_status", R"("PAID")", R"(charge_status: unknown value PAID)"},
      {"paid_through_date", "20260101", "paid_through_date: expected a date string or null, got number"},
      {"paid_through_date", R"("2026-01-01")",
       "paid_through_date: expected a date YYYY-MM-DDTHH:MM:SS, got 2026-01-01"},
      {"received_on", R"("2026-13-01T00:00:00")",
       "received_on: expected a date YYYY-MM-DDTHH:MM:SS, got 2026-13-01T00:00:00"},
      {"received_on", R"("2026-01-01T00:00:00Z")",
       "received_on: expected a date YYYY-MM-DDTHH:MM:SS, got 2026-01-01T00:00:00Z"},
      {"set_as_approved_on", "false", "set_as_approved_on: expected a date string or null, got boolean"},
      {"set_as_declined_on", "[]", "set_as_declined_on: expected a date string or null, got array"},
      {"set_as_bad_request_on", "{}", "set_as_bad_request_on: expected a date string or null, got object"},
      {"set_as_rejected_request_on", "0", "set_as_rejected_request_on: expected a date string or null, got number"},
      {"number", "", "number: missing"},
      {"billing_system_customer_identifier", "", "billing_system_customer_identifier: missing"},
      {"amount", "", "amount: missing"},
      {"currency", "", "currency: missing"},
      {"charge_status", "", "charge_status: missing"},
      {"number", "true", "number: expected a string, got boolean"},
      {"number", R"({"id":"I9"})", "number: expected a string, got object"},
      {"number", R"(["I9"])", "number: expected a string, got array"},
      {"billing_system_customer_identifier", "42", "billing_system_customer_identifier: expected a string, got number"},
      {"billing_system_customer_identifier", R"("")", "billing_system_customer_identifier: empty"},
      {"amount", "{}", "amount: expected a number, got object"},
      {"amount", "[1.00]", "amount: expected a number, got array"},
      {"currency", "978", "currency: expected a string, got number"},
      {"currency", R"("")", "currency: empty"},
      {"local_currency_amount", "[]", "local_currency_amount: expected a number or null, got array"},
      {"local_currency_amount", "1.", "local_currency_amount: invalid number 1."},
      {"local_currency", "{}", "local_currency: expected a string or null, got object"},
      {"charge_status", R"("")", "charge_status: empty"},
      {"charge_status", R"("approved")", "charge_status: unknown value approved"},
      {"charge_status", R"(" APPROVED")", "charge_status: unknown value  APPROVED"},
      {"charge_status", R"(["APPROVED"])", "charge_status: expected a string, got array"},
      {"paid_through_date", R"("31/12/2026")", "paid_through_date: expected a date YYYY-MM-DDTHH:MM:SS, got 31/12/2026"},
      {"received_on", "true", "received_on: expected a date string or null, got boolean"},
      {"received_on", R"("2026-01-01T00:00:00.123")",
       "received_on: expected a date YYYY-MM-DDTHH:MM:SS, got 2026-01-01T00:00:00.123"},
      {"set_as_approved_on", R"("")", "set_as_approved_on: expected a date YYYY-MM-DDTHH:MM:SS, got "},
  };
  for (const auto& c : cases) {
    const auto bad = charge_with(c.field, c.value);
    auto r = parse_list_charges(page(approved_charge + "," + bad + "," + declined_charge));
    ASSERT_TRUE(r) << c.field << " " << c.value << ": " << r.error().to_string();
    EXPECT_EQ(r->entries, 3u);
    ASSERT_EQ(r->charges.size(), 2u) << c.field << " " << c.value;
    EXPECT_EQ(r->charges[0].number, "I00002706");
    EXPECT_EQ(r->charges[1].number, "I00002707");
    ASSERT_EQ(r->malformed.size(), 1u);
    const auto& m = r->malformed[0];
    EXPECT_EQ(m.index, 1u);
    EXPECT_EQ(m.diagnostic, "netflix/charges/list: data.charges_set[1]." + c.expected) << c.value;
    EXPECT_EQ(m.raw_json, quote_peer_text(bad, 1024));
    if (c.field == "number") {
      EXPECT_FALSE(m.number);
    } else {
      EXPECT_EQ(m.number, "I9") << c.field;
    }
  }
}

TEST(crm_answers, elements_that_are_not_objects_or_repeat_a_field_are_reported) {
  auto r = parse_list_charges(page(R"(null,"I1",[1,2],)" + charge_with("amount", R"(1,"amount":2)")));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->entries, 4u);
  EXPECT_TRUE(r->charges.empty());
  ASSERT_EQ(r->malformed.size(), 4u);
  EXPECT_EQ(r->malformed[0].diagnostic, "netflix/charges/list: data.charges_set[0]: expected an object, got null");
  EXPECT_EQ(r->malformed[1].diagnostic, "netflix/charges/list: data.charges_set[1]: expected an object, got string");
  EXPECT_EQ(r->malformed[2].diagnostic, "netflix/charges/list: data.charges_set[2]: expected an object, got array");
  EXPECT_EQ(r->malformed[2].raw_json, "[1,2]");
  EXPECT_EQ(r->malformed[3].diagnostic, "netflix/charges/list: data.charges_set[3].amount: duplicate field");
  EXPECT_EQ(r->malformed[3].number, "I9");
}

TEST(crm_answers, envelope_and_list_shape_errors_fail_the_whole_answer) {
  expect_malformed(parse_list_charges(ok_answer("[]")), "netflix/charges/list: data: expected an object, got array");
  expect_malformed(parse_list_charges(ok_answer("null")), "netflix/charges/list: data: expected an object, got null");
  expect_malformed(parse_list_charges(ok_answer(R"("x")")),
                   "netflix/charges/list: data: expected an object, got string");
  expect_malformed(parse_list_charges(ok_answer(R"({"charges_set":{}})")),
                   "netflix/charges/list: data.charges_set: expected an array, got object");
  expect_malformed(parse_list_charges(ok_answer(R"({"charges_set":null})")),
                   "netflix/charges/list: data.charges_set: expected an array, got null");
  expect_malformed(parse_list_charges(ok_answer("{}")), "netflix/charges/list: data.charges_set: missing");
  expect_malformed(parse_list_charges(R"({"status":{"code":"OK"}})"), "netflix/charges/list: data: missing");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]}})"), "netflix/charges/list: status: missing");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]},"status":{"message":""}})"),
                   "netflix/charges/list: status.code: missing");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]},"status":{"code":0}})"),
                   "netflix/charges/list: status.code: expected a string, got number");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]},"status":{"code":"OK","message":7}})"),
                   "netflix/charges/list: status.message: expected a string or null, got number");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]},"status":"OK"})"),
                   "netflix/charges/list: status: expected an object, got string");
  expect_malformed(parse_list_charges(R"([{"data":{}}])"),
                   "netflix/charges/list: answer: expected an object, got array");
  expect_malformed(
      parse_list_charges(R"({"data":{"charges_set":[]},"data":{"charges_set":[]},"status":{"code":"OK"}})"),
      "netflix/charges/list: data: duplicate field");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[],"charges_set":[]},"status":{"code":"OK"}})"),
                   "netflix/charges/list: data.charges_set: duplicate field");
  expect_malformed(parse_list_charges(page("") + R"({"data":{}})"),
                   "netflix/charges/list: answer: unexpected content after the JSON value");
}

TEST(crm_answers, not_json_at_all_is_malformed) {
  for (std::string body : {""s, "   "s, "<html>502 Bad Gateway</html>"s, "nul"s, "{\"data\":"s, "{,}"s,
                           R"({"data":{"charges_set":[}]},"status":{"code":"OK"}})"s}) {
    auto r = parse_list_charges(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, errc::malformed_answer) << body;
    EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/list: ", 0), 0u) << r.error().diagnostic;
  }
}

TEST(crm_answers, invalid_utf8_is_malformed) {
  auto body = page(charge_with("billing_system_customer_identifier", "\"caf\xC3\x28\""));
  expect_malformed(parse_list_charges(body), "netflix/charges/list: answer: invalid UTF-8");
}

TEST(crm_answers, deeply_nested_garbage_is_malformed_not_a_crash) {
  const std::string deep_open(5000, '['), deep_close(5000, ']');
  // The whole body.
  auto r = parse_list_charges(deep_open + deep_close);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::malformed_answer);
  // Unbalanced inside the list: the answer is not JSON.
  auto unbalanced = parse_list_charges(page(deep_open));
  ASSERT_FALSE(unbalanced);
  EXPECT_EQ(unbalanced.error().code, errc::malformed_answer);
  // Balanced but deeper than simdjson's limit (1024), as an element or in a field we do not
  // read: every answer is checked as JSON in full before it is read (see
  // invalid_json_where_the_parser_does_not_look_is_malformed), and this one is nested too deeply.
  expect_malformed(parse_list_charges(page(approved_charge + "," + deep_open + deep_close)),
                   "netflix/charges/list: answer: nested too deeply");
  expect_malformed(parse_list_charges(ok_answer(R"({"junk":)" + deep_open + deep_close + R"(,"charges_set":[]})")),
                   "netflix/charges/list: answer: nested too deeply");
  // Nesting within simdjson's limit inside one element only spoils that element.
  const std::string some_open(100, '['), some_close(100, ']');
  auto s = parse_list_charges(page(approved_charge + "," + some_open + some_close));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->charges.size(), 1u);
  ASSERT_EQ(s->malformed.size(), 1u);
  EXPECT_EQ(s->malformed[0].index, 1u);
  EXPECT_EQ(s->entries, 2u);
}

TEST(crm_answers, negative_zero_huge_and_many_decimal_amounts_keep_their_exact_text) {
  // The spec bills by status alone; the amount is billing's to judge, so every JSON number is a
  // charge and its text reaches billing unchanged (no rounding, no normalising of zeros).
  for (std::string amount :
       {"-12.50", "-0", "0", "0.00", "0.000000000000000000000001", "123456789012345678901234567890.123456789",
        "99999999999999999999999999999999999999999999999999", "1e400", "-1E-400", "12.3400000000000000000000"}) {
    auto r = parse_list_charges(page(charge_with("amount", amount) + "," + approved_charge));
    ASSERT_TRUE(r) << amount << ": " << r.error().to_string();
    ASSERT_EQ(r->charges.size(), 2u) << amount << " " << (r->malformed.empty() ? "" : r->malformed[0].diagnostic);
    EXPECT_EQ(r->charges[0].amount, amount);
    EXPECT_NE(r->charges[0].raw_json.find("\"amount\":" + amount + ","), std::string::npos) << amount;
  }
  // Not JSON numbers: the element is set aside with the field named, the page stands.
  for (std::string amount : {"+1", ".5", "1.", "0x10", "1e", "--1", "00.1"}) {
    auto r = parse_list_charges(page(charge_with("amount", amount) + "," + approved_charge));
    if (!r) {
      // Some of these break the JSON grammar of the whole answer before the element is read.
      EXPECT_EQ(r.error().code, errc::malformed_answer) << amount;
      EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/list: ", 0), 0u) << r.error().diagnostic;
      continue;
    }
    ASSERT_EQ(r->charges.size(), 1u) << amount;
    ASSERT_EQ(r->malformed.size(), 1u) << amount;
    EXPECT_EQ(r->malformed[0].diagnostic.rfind("netflix/charges/list: data.charges_set[0].amount: ", 0), 0u)
        << r->malformed[0].diagnostic;
  }
}

TEST(crm_answers, one_number_twice_in_a_page_agreeing_stays_two_charges_the_ledger_records_once) {
  // The second copy differs only in a date: nothing billing would be told differently.
  const auto again = charge_with("received_on", R"("2026-01-02T00:00:00")");
  auto r = parse_list_charges(page(charge_with("received_on", R"("2026-01-01T00:00:00")") + "," + approved_charge +
                                   "," + again));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->entries, 3u);
  ASSERT_EQ(r->charges.size(), 3u);
  EXPECT_EQ(r->charges[0].number, "I9");
  EXPECT_EQ(r->charges[2].number, "I9");
  EXPECT_TRUE(r->malformed.empty());
}

TEST(crm_answers, one_number_twice_in_a_page_disagreeing_sets_both_aside) {
  const std::vector<std::pair<std::string, std::string>> differences = {
      {"amount", "2.00"},
      {"billing_system_customer_identifier", R"("C10")"},
      {"currency", R"("USD")"},
      {"charge_status", R"("DECLINED")"},
  };
  for (const auto& [field, value] : differences) {
    const auto first = charge_with("received_on", R"("2026-01-01T00:00:00")");
    const auto second = charge_with(field, value);
    auto r = parse_list_charges(page(first + "," + approved_charge + "," + second + "," + declined_charge));
    ASSERT_TRUE(r) << field << ": " << r.error().to_string();
    EXPECT_EQ(r->entries, 4u);
    ASSERT_EQ(r->charges.size(), 2u) << field;
    EXPECT_EQ(r->charges[0].number, "I00002706");
    EXPECT_EQ(r->charges[1].number, "I00002707");
    ASSERT_EQ(r->malformed.size(), 2u) << field;
    EXPECT_EQ(r->malformed[0].index, 0u);
    EXPECT_EQ(r->malformed[0].number, "I9");
    EXPECT_EQ(r->malformed[0].raw_json, quote_peer_text(first, 1024));
    EXPECT_EQ(r->malformed[0].diagnostic, "netflix/charges/list: data.charges_set[0].number: charge I9 is also at [2] "
                                          "with a different " + field);
    EXPECT_EQ(r->malformed[1].index, 2u);
    EXPECT_EQ(r->malformed[1].number, "I9");
    EXPECT_EQ(r->malformed[1].diagnostic, "netflix/charges/list: data.charges_set[2].number: charge I9 is also at [0] "
                                          "with a different " + field);
  }
  // Three copies, the third agreeing with the first: all three are set aside, each naming one
  // other copy, and several differing fields are all named.
  const std::string other =
      R"({"number":"I9","billing_system_customer_identifier":"C9","amount":5.00,"currency":"USD",)"
      R"("charge_status":"APPROVED"})";
  auto three = parse_list_charges(page(charge_with("amount", "1.00") + "," + other + "," + charge_with("amount", "1.00")));
  ASSERT_TRUE(three) << three.error().to_string();
  EXPECT_TRUE(three->charges.empty());
  ASSERT_EQ(three->malformed.size(), 3u);
  EXPECT_EQ(three->malformed[1].diagnostic,
            "netflix/charges/list: data.charges_set[1].number: charge I9 is also at [0] with a different amount, "
            "currency");
}

TEST(crm_answers, invalid_utf8_in_any_string_fails_the_answer_and_says_so) {
  // simdjson checks the encoding of the whole text before reading any of it: an answer with
  // one bad byte is not read at all (the pass stops there and tries again; nothing is recorded,
  // billed or acknowledged from it).
  const std::vector<std::string> bad_bytes = {"\xC3\x28", "\xA0\xA1", "\xE2\x28\xA1", "\xF0\x28\x8C\xBC",
                                              "\xC0\x80", "\xED\xA0\x80", "\xF8\x88\x80\x80\x80", "\xFF"};
  for (const auto& field : {"number", "billing_system_customer_identifier", "currency", "charge_status",
                            "received_on", "local_currency"}) {
    for (const auto& bytes : bad_bytes) {
      const auto body = page(approved_charge + "," + charge_with(field, "\"I" + bytes + "\""));
      expect_malformed(parse_list_charges(body), "netflix/charges/list: answer: invalid UTF-8");
    }
  }
  // In a key, in an unknown field, in the status message: the same.
  expect_malformed(parse_list_charges(page(charge_with("currency", "\"EUR\",\"n\xC3\x28te\":1"))),
                   "netflix/charges/list: answer: invalid UTF-8");
  expect_malformed(parse_list_charges(R"({"data":{"charges_set":[]},"status":{"code":"OK","message":")"
                                      "\xFF\"}}"),
                   "netflix/charges/list: answer: invalid UTF-8");
  expect_malformed(
      parse_acknowledge(ok_answer(R"({"failed_charges_set":[{"number":"I1","error_description":")" "\xC3\x28\"}]}")),
      "netflix/charges/acknowledge: answer: invalid UTF-8");
  expect_malformed(parse_login(ok_answer("{\"token\":\"eyJ\xC3\x28\"}")), "authentication/token: answer: invalid UTF-8");
}

TEST(crm_answers, escaped_strings_that_are_not_unicode_spoil_only_their_element) {
  // A lone surrogate escape is valid UTF-8 on the wire but names no character; the others are
  // not JSON escapes at all. Each element is read on its own, so only that charge is set aside.
  for (std::string value : {R"("I\ud800")", R"("I\udc00x")", R"("I\u12")", R"("I\x41")", R"("I\q")"}) {
    auto r = parse_list_charges(page(approved_charge + "," + charge_with("billing_system_customer_identifier", value)));
    ASSERT_TRUE(r) << value << ": " << r.error().to_string();
    ASSERT_EQ(r->charges.size(), 1u) << value;
    ASSERT_EQ(r->malformed.size(), 1u) << value;
    EXPECT_EQ(r->malformed[0].number, "I9");
    EXPECT_EQ(r->malformed[0].diagnostic,
              "netflix/charges/list: data.charges_set[1].billing_system_customer_identifier: invalid string escape "
              "(such as a lone \\ud800)");
  }
  // An unescaped control character breaks the JSON grammar of the whole answer.
  expect_malformed(parse_list_charges(page(charge_with("currency", "\"E\tR\""))),
                   "netflix/charges/list: answer: control character not escaped inside a string");
}

// An element is checked and read in one walk, yet tells what is wrong with it as if it were read
// first and checked after: a field we read that is wrong or missing is named before a bad value
// in a field we ignore, which is named only when nothing else is wrong.
TEST(crm_answers, a_field_we_read_is_reported_before_a_bad_value_in_one_we_ignore) {
  const auto first_malformed = [](const std::string& element) {
    auto r = parse_list_charges(page(approved_charge + "," + element));
    EXPECT_TRUE(r) << r.error().to_string();
    if (!r) return std::string();
    EXPECT_EQ(r->entries, 2u);
    EXPECT_EQ(r->charges.size(), 1u);
    EXPECT_EQ(r->malformed.size(), 1u);
    return r->malformed.empty() ? std::string() : r->malformed[0].diagnostic;
  };
  const std::string junk_first = R"({"future":[1,{"deep":01}],)";
  EXPECT_EQ(first_malformed(junk_first + charge_with("amount", R"("1.00")").substr(1)),
            "netflix/charges/list: data.charges_set[1].amount: expected a number, got string");
  EXPECT_EQ(first_malformed(junk_first + charge_with("currency", "").substr(1)),
            "netflix/charges/list: data.charges_set[1].currency: missing");
  EXPECT_EQ(first_malformed(junk_first + charge_with("currency", R"("EUR","number":"I8")").substr(1)),
            "netflix/charges/list: data.charges_set[1].number: duplicate field");
  EXPECT_EQ(first_malformed(junk_first + charge_with("currency", R"("EUR","future":tru)").substr(1)),
            "netflix/charges/list: data.charges_set[1].future: duplicate field");
  EXPECT_EQ(first_malformed(junk_first + approved_charge.substr(1)),
            "netflix/charges/list: data.charges_set[1]: invalid number 01");
  EXPECT_EQ(first_malformed(charge_with("currency", R"("EUR","future":[1.,{"a":01}])")),
            "netflix/charges/list: data.charges_set[1]: invalid number 1.");
}

TEST(crm_answers, raw_json_is_each_element_without_the_space_around_it) {
  auto r = parse_list_charges(page(" \n " + approved_charge + " \r\n\t, " + declined_charge + "\n"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->charges.size(), 2u);
  EXPECT_EQ(r->charges[0].raw_json, approved_charge);
  EXPECT_EQ(r->charges[1].raw_json, declined_charge);
  auto bad = parse_list_charges(page(approved_charge + " , [1, 2] \n, \"I1\"  ,  5 "));
  ASSERT_TRUE(bad) << bad.error().to_string();
  ASSERT_EQ(bad->malformed.size(), 3u);
  EXPECT_EQ(bad->malformed[0].raw_json, "[1, 2]");
  EXPECT_EQ(bad->malformed[1].raw_json, "\"I1\"");
  EXPECT_EQ(bad->malformed[2].raw_json, "5");
}

// The acknowledge and login answers, cut at every byte, garbled, or nested beyond reason: each is
// an error naming the method, never a crash and never "nothing refused" (which would record
// every sent charge as acknowledged).
TEST(crm_answers, acknowledge_answer_cut_at_every_byte_is_malformed) {
  const auto body = ok_answer(
      R"({"failed_charges_set":[{"number":"I1","reference_number":"B-1","error_code":"E","error_description":"d"}]})");
  ASSERT_TRUE(parse_acknowledge(body));
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    auto r = parse_acknowledge(std::string_view(body).substr(0, cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, errc::malformed_answer) << "cut at " << cut << ": " << r.error().to_string();
    EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/acknowledge: ", 0), 0u) << r.error().diagnostic;
  }
  // An answer that lost its refusals but still closes its braces is not "none refused".
  for (std::string data : {R"({"failed_charges_set":[{}]})", R"({"failed_charges_set":[null]})",
                           R"({"failed_charges_set":["I1"]})", R"({"failed_charges_set":{"number":"I1"}})",
                           R"({"failed_charges_set":[],"failed_charges_set":[{"number":"I1"}]})", "[]", "null"}) {
    auto r = parse_acknowledge(ok_answer(data));
    ASSERT_FALSE(r) << data;
    EXPECT_EQ(r.error().code, errc::malformed_answer) << data;
  }
}

TEST(crm_answers, login_answer_cut_at_every_byte_is_malformed) {
  const auto body = ok_answer(R"({"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig"})");
  ASSERT_TRUE(parse_login(body));
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    auto r = parse_login(std::string_view(body).substr(0, cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, errc::malformed_answer) << "cut at " << cut << ": " << r.error().to_string();
    EXPECT_EQ(r.error().diagnostic.rfind("authentication/token: ", 0), 0u) << r.error().diagnostic;
  }
}

TEST(crm_answers, garbage_and_deep_nesting_in_acknowledge_and_login_answers) {
  const std::string deep_open(5000, '['), deep_close(5000, ']');
  const std::string deep_objects = [] {
    std::string s;
    for (int i = 0; i < 3000; ++i) s += R"({"a":)";
    s += "1";
    for (int i = 0; i < 3000; ++i) s += "}";
    return s;
  }();
  for (const std::string& body :
       {""s, "<html>502 Bad Gateway</html>"s, "{\"data\":"s, deep_open + deep_close, deep_objects,
        ok_answer(R"({"failed_charges_set":)" + deep_open + deep_close + "}"),
        ok_answer(R"({"failed_charges_set":[)" + deep_open + "]}")}) {
    auto ack = parse_acknowledge(body);
    ASSERT_FALSE(ack) << body.substr(0, 60);
    EXPECT_EQ(ack.error().code, errc::malformed_answer) << body.substr(0, 60);
    EXPECT_EQ(ack.error().diagnostic.rfind("netflix/charges/acknowledge: ", 0), 0u) << ack.error().diagnostic;
  }
  for (const std::string& body : {""s, "java.lang.NullPointerException"s, deep_open + deep_close, deep_objects,
                                  ok_answer(R"({"token":)" + deep_open + deep_close + "}"), ok_answer(deep_objects)}) {
    auto login = parse_login(body, method::login_web_api_key);
    ASSERT_FALSE(login) << body.substr(0, 60);
    EXPECT_EQ(login.error().code, errc::malformed_answer) << body.substr(0, 60);
    EXPECT_EQ(login.error().diagnostic.rfind("authentication/web_api_key/token: ", 0), 0u)
        << login.error().diagnostic;
  }
  // Deep junk even in a field nobody reads: every answer is checked as JSON in full before it is
  // read (invalid_json_where_the_parser_does_not_look_is_malformed), and that check stops at
  // simdjson's depth limit (1024) rather than recursing without bound.
  auto ack = parse_acknowledge(ok_answer(R"({"junk":)" + deep_open + deep_close + R"(,"failed_charges_set":[]})"));
  ASSERT_FALSE(ack);
  EXPECT_EQ(ack.error().code, errc::malformed_answer);
  EXPECT_EQ(ack.error().diagnostic, "netflix/charges/acknowledge: answer: nested too deeply");
}

// Found by fuzzing (tests/fuzz/regressions/): simdjson's On-Demand parser checks only what it
// reads, so an answer was accepted with anything between balanced brackets in a value it
// skipped: an unknown field, or the raw charge object that goes to billing byte for byte.
TEST(crm_answers, invalid_json_where_the_parser_does_not_look_is_malformed) {
  const std::vector<std::string> structure_errors = {"[1,,2]", R"({"a" 1})", "[1 2]", R"({"a":})", "[1,]", "{,}",
                                                     R"({"a":1,})"};
  const std::vector<std::string> scalar_errors = {"01", "1.", "-", "tru", "nulls", R"("\x")"};
  std::vector<std::string> all = structure_errors;
  all.insert(all.end(), scalar_errors.begin(), scalar_errors.end());
  for (const auto& junk : all) {
    const std::string in_envelope = R"({"data":{"charges_set":[]},"status":{"code":"OK"},"extra":)" + junk + "}";
    expect_not_json(parse_list_charges(in_envelope));
    EXPECT_FALSE(parse_acknowledge(ok_answer(R"({"failed_charges_set":[{"number":"I1","x":)" + junk + "}]}")))
        << junk;
    EXPECT_FALSE(parse_list_promotions(ok_answer(R"([{"code":"P1","x":)" + junk + "}]"))) << junk;
    EXPECT_FALSE(parse_show_subscription(ok_answer(R"({"subscription_number":"S1","prices_set":[)" + junk + "]}")))
        << junk;
    EXPECT_FALSE(parse_create_subscription(ok_answer(R"({"token":"t","x":)" + junk + "}"))) << junk;
    EXPECT_FALSE(parse_login(ok_answer(R"({"token":"t","x":)" + junk + "}"))) << junk;
    EXPECT_FALSE(parse_devices(ok_answer(R"({"x":)" + junk + "}"), method::register_devices)) << junk;
    EXPECT_FALSE(parse_empty_answer(ok_answer(R"({"x":)" + junk + "}"), method::suspend)) << junk;
  }
  // Inside a charge, a structure error leaves no telling where the elements end: the page fails.
  for (const auto& junk : structure_errors)
    expect_not_json(parse_list_charges(page(charge_with("currency", R"("EUR","future_field":)" + junk))));
  // A bad scalar spoils only its charge, which is reported and never reaches billing.
  for (const auto& junk : scalar_errors) {
    auto r = parse_list_charges(page(approved_charge + "," + charge_with("currency", R"("EUR","future_field":)" + junk)));
    ASSERT_TRUE(r) << junk << ": " << r.error().to_string();
    EXPECT_EQ(r->entries, 2u);
    ASSERT_EQ(r->charges.size(), 1u) << junk;
    EXPECT_EQ(r->charges[0].number, "I00002706");
    ASSERT_EQ(r->malformed.size(), 1u);
    EXPECT_EQ(r->malformed[0].diagnostic.rfind("netflix/charges/list: data.charges_set[1]: ", 0), 0u)
        << r->malformed[0].diagnostic;
    EXPECT_EQ(r->malformed[0].number, "I9");
  }
  // Valid JSON of every kind in the same places is still ignored.
  auto fine = parse_list_charges(
      page(charge_with("currency", R"("EUR","future_field":[1,-0.5e+3,"\u00e9\n",true,false,null,{"a":{}},[]])")));
  ASSERT_TRUE(fine) << fine.error().to_string();
  EXPECT_EQ(fine->charges.size(), 1u);
}

// Found by fuzzing: a field name is peer text too. A duplicate key holding a tab or a line break
// was copied into the diagnostic (and so into a log line) as it was.
TEST(crm_answers, field_names_in_diagnostics_are_quoted) {
  auto r = parse_list_charges(R"({"d\ta":{},"d\ta":{}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().diagnostic, "netflix/charges/list: d\\x09a: duplicate field");
  auto element = parse_list_charges(page(charge_with("currency", R"("EUR","x\ny":1,"x\ny":2)")));
  ASSERT_TRUE(element) << element.error().to_string();
  ASSERT_EQ(element->malformed.size(), 1u);
  EXPECT_EQ(element->malformed[0].diagnostic, "netflix/charges/list: data.charges_set[0].x\\x0Ay: duplicate field");
}

TEST(crm_answers, status_other_than_ok_carries_the_quoted_message) {
  auto r =
      parse_list_charges(R"({"data":null,"status":{"code":"ERROR","description":"d","message":"No \u0007 way\n"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::crm_status_not_ok);
  EXPECT_EQ(r.error().diagnostic, "netflix/charges/list: status.code ERROR: No \\x07 way\\x0A");
  // message null: the description is used.
  auto d = parse_acknowledge(R"({"status":{"code":"E42","description":"Organisation unknown","message":null}})");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, errc::crm_status_not_ok);
  EXPECT_EQ(d.error().diagnostic, "netflix/charges/acknowledge: status.code E42: Organisation unknown");
}

TEST(crm_answers, acknowledge_refusals) {
  auto r = parse_acknowledge(ok_answer(
      R"({"failed_charges_set":[{"number":"I1","reference_number":"B-1","error_code":"ALREADY_ACK","error_description":"Charge already acknowledged"},)"
      R"({"number":"I2","reference_number":null,"error_code":"E1","error_description":null,"since":"R14"}]})"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].number, "I1");
  EXPECT_EQ((*r)[0].reference_number, "B-1");
  EXPECT_EQ((*r)[0].error_code, "ALREADY_ACK");
  EXPECT_EQ((*r)[0].error_description, "Charge already acknowledged");
  EXPECT_EQ((*r)[1].number, "I2");
  EXPECT_EQ((*r)[1].reference_number, "");
  EXPECT_EQ((*r)[1].error_description, "");

  for (std::string data : {"{}", R"({"failed_charges_set":null})", R"({"failed_charges_set":[]})"}) {
    auto none = parse_acknowledge(ok_answer(data));
    ASSERT_TRUE(none) << data;
    EXPECT_TRUE(none->empty());
  }
  auto bad = parse_acknowledge(ok_answer(R"({"failed_charges_set":[{"number":"I1","error_code":5}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::malformed_answer);
  EXPECT_EQ(
      bad.error().diagnostic,
      "netflix/charges/acknowledge: data.failed_charges_set[0].error_code: expected a string or null, got number");
  auto no_number = parse_acknowledge(ok_answer(R"({"failed_charges_set":[{"error_code":"X"}]})"));
  ASSERT_FALSE(no_number);
  EXPECT_EQ(no_number.error().diagnostic, "netflix/charges/acknowledge: data.failed_charges_set[0].number: missing");
  auto not_array = parse_acknowledge(ok_answer(R"({"failed_charges_set":"I1"})"));
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().diagnostic,
            "netflix/charges/acknowledge: data.failed_charges_set: expected an array, got string");
}

TEST(crm_answers, login_token) {
  auto r = parse_login(ok_answer(R"({"token":"eyJ.abc.def"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "eyJ.abc.def");
  auto missing = parse_login(ok_answer("{}"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().diagnostic, "authentication/token: data.token: missing");
  auto empty = parse_login(ok_answer(R"({"token":""})"), method::login_web_api_key);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().diagnostic, "authentication/web_api_key/token: data.token: empty");
  auto number = parse_login(ok_answer(R"({"token":123})"));
  ASSERT_FALSE(number);
  EXPECT_EQ(number.error().diagnostic, "authentication/token: data.token: expected a string, got number");
}

TEST(crm_answers, promotions) {
  auto r = parse_list_promotions(ok_answer(
      R"([{"code":"NFX-3M","name":"Three months","description":null,"effective_from":"2026-01-01T00:00:00","expires_on":null},)"
      R"({"code":"NFX-1M"}])"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].code, "NFX-3M");
  EXPECT_EQ((*r)[0].name, "Three months");
  EXPECT_FALSE((*r)[0].description);
  EXPECT_EQ((*r)[0].effective_from, "2026-01-01T00:00:00");
  EXPECT_FALSE((*r)[0].expires_on);
  EXPECT_EQ((*r)[1].code, "NFX-1M");
  auto numeric_code = parse_list_promotions(ok_answer(R"([{"code":3}])"));
  ASSERT_FALSE(numeric_code);
  EXPECT_EQ(numeric_code.error().diagnostic, "netflix/promotions/list: data[0].code: expected a string, got number");
  auto not_array = parse_list_promotions(ok_answer("{}"));
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().diagnostic, "netflix/promotions/list: data: expected an array, got object");
}

TEST(crm_answers, subscriptions_in_either_shape) {
  const std::string sub = R"({"subscription_number":"S-17","netflix_sate":"ACTIVE","life_cycle_state":"EFFECTIVE",)"
                          R"("promotions_set":[{"code":"NFX-3M"}],"prices_set":[{"FormattedPrice":"EUR 12.99"}]})";
  auto arr = parse_show_subscription(ok_answer("[" + sub + "]"));
  ASSERT_TRUE(arr) << arr.error().to_string();
  ASSERT_EQ(arr->size(), 1u);
  const auto& s = (*arr)[0];
  EXPECT_EQ(s.subscription_number, "S-17");
  EXPECT_EQ(s.netflix_state, "ACTIVE");
  EXPECT_EQ(s.life_cycle, life_cycle_state::effective);
  EXPECT_EQ(s.promotions_set, R"([{"code":"NFX-3M"}])");
  EXPECT_EQ(s.prices_set, R"([{"FormattedPrice":"EUR 12.99"}])");

  auto obj = parse_show_subscription(ok_answer(sub));
  ASSERT_TRUE(obj);
  ASSERT_EQ(obj->size(), 1u);
  EXPECT_EQ((*obj)[0].subscription_number, "S-17");

  auto none = parse_show_subscription(ok_answer("{}"));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  auto bad = parse_show_subscription(ok_answer(R"([{"subscription_number":"S","life_cycle_state":"GONE"}])"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().diagnostic, "netflix/subscriptions/show: data[0].life_cycle_state: unknown value GONE");
}

TEST(crm_answers, signup_token_and_url_are_read_leniently) {
  auto both = parse_create_subscription(
      ok_answer(R"({"netflix_token":"nt-1","expires_in":3600,"signup_url":"https://signup.example/x?t=nt-1"})"));
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(both->token, "nt-1");
  EXPECT_EQ(both->url, "https://signup.example/x?t=nt-1");
  EXPECT_EQ(both->raw_data,
            R"({"netflix_token":"nt-1","expires_in":3600,"signup_url":"https://signup.example/x?t=nt-1"})");

  auto nested = parse_create_subscription(ok_answer(R"({"result":{"Token":"nt-2"}})"));
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->token, "nt-2");
  EXPECT_FALSE(nested->url);

  auto bare = parse_create_subscription(ok_answer(R"("nt-3")"));
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->token, "nt-3");

  auto nothing = parse_create_subscription(ok_answer(R"({"id":5})"));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, errc::malformed_answer);
  EXPECT_EQ(nothing.error().diagnostic,
            "netflix/subscriptions/create: data: no string field named like *token* or *url*");
}

TEST(crm_answers, empty_and_device_answers) {
  EXPECT_TRUE(parse_empty_answer(ok_answer("{}"), method::suspend));
  auto refused =
      parse_empty_answer(R"({"data":{},"status":{"code":"ERROR","message":"no subscription"}})", method::unsuspend);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::crm_status_not_ok);
  EXPECT_EQ(refused.error().diagnostic, "netflix/subscriptions/unsuspend: status.code ERROR: no subscription");

  auto d = parse_devices(ok_answer(R"({"failed_devices_set":[{"esn":"NFANDROID1-PRV-A"},{"esn":"X2"}]})"),
                         method::register_devices);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->failed_esns, (std::vector<std::string>{"NFANDROID1-PRV-A", "X2"}));
  auto none = parse_devices(ok_answer("{}"), method::unregister_devices);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->failed_esns.empty());
  auto bad = parse_devices(ok_answer(R"({"failed_devices_set":[{"id":1}]})"), method::register_devices);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().diagnostic, "netflix/operators/register_devices: data.failed_devices_set[0].esn: missing");
}

TEST(crm_answers, failed_answers_are_classified_by_token_or_not) {
  EXPECT_EQ(classify_failed_answer(401, ""), failure_kind::token_invalid);
  EXPECT_EQ(classify_failed_answer(403, "<html>"), failure_kind::token_invalid);
  EXPECT_EQ(classify_failed_answer(200, R"({"data":null,"status":{"code":"ERROR","message":"Invalid token"}})"),
            failure_kind::token_invalid);
  EXPECT_EQ(classify_failed_answer(200, R"({"status":{"code":"TOKEN_EXPIRED","message":null}})"),
            failure_kind::token_invalid);
  EXPECT_EQ(classify_failed_answer(500, R"({"status":{"code":"ERROR","description":"Session has Expired"}})"),
            failure_kind::token_invalid);
  EXPECT_EQ(classify_failed_answer(200, R"({"status":{"code":"ERROR","message":"Customer not found"}})"),
            failure_kind::other);
  EXPECT_EQ(classify_failed_answer(502, "<html>token</html>"), failure_kind::other);
  EXPECT_EQ(classify_failed_answer(500, ""), failure_kind::other);
}

TEST(crm_answers, number_and_date_grammar) {
  for (auto ok : {"0", "-0", "-0.00", "1e3", "1E-7", "12.5e+10", "1234567.89"}) EXPECT_TRUE(is_json_number(ok)) << ok;
  for (auto bad : {"", "-", "01", "1.", ".5", "1e", "+1", "1.2.3", "0x10", "NaN", "1 "})
    EXPECT_FALSE(is_json_number(bad)) << bad;
  EXPECT_TRUE(is_crm_date("2026-02-28T23:59:59"));
  for (auto bad : {"2026-02-28", "2026-02-28 23:59:59", "2026-00-01T00:00:00", "2026-01-32T00:00:00",
                   "2026-01-01T24:00:00", "2026-01-01T00:60:00", "2026-01-01T00:00:00.000", "２026-01-01T00:00:00"})
    EXPECT_FALSE(is_crm_date(bad)) << bad;
}

}  // namespace
}  // namespace chargerecon::crm
