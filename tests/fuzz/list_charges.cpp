// netflix/charges/list: the answer the money comes from. Beyond not crashing: every element is
// either a charge or reported malformed; a charge's amount is the peer's exact number text; the
// charge object handed to billing is the peer's JSON, byte for byte, and reads back as the same
// charge.
#include <set>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {
namespace {

bool same_charge(const crm::charge& a, const crm::charge& b) {
  return a.number == b.number && a.customer == b.customer && a.amount == b.amount && a.currency == b.currency &&
         a.local_currency_amount == b.local_currency_amount && a.local_currency == b.local_currency &&
         a.status == b.status && a.paid_through_date == b.paid_through_date && a.received_on == b.received_on &&
         a.set_as_approved_on == b.set_as_approved_on && a.set_as_declined_on == b.set_as_declined_on &&
         a.set_as_bad_request_on == b.set_as_bad_request_on &&
         a.set_as_rejected_request_on == b.set_as_rejected_request_on && a.raw_json == b.raw_json;
}

void check_charge(const crm::charge& c, std::string_view body) {
  require(!c.number.empty() && !c.customer.empty() && !c.currency.empty(), "identity fields are not empty");
  require(crm::is_json_number(c.amount), "the amount is a JSON number token");
  require(contains(c.raw_json, c.amount) && contains(body, c.raw_json), "the amount is the peer's exact text");
  if (c.local_currency_amount) {
    require(crm::is_json_number(*c.local_currency_amount), "local_currency_amount is a JSON number token");
    require(contains(c.raw_json, *c.local_currency_amount), "local_currency_amount is the peer's exact text");
  }
  for (const auto* date : {&c.paid_through_date, &c.received_on, &c.set_as_approved_on, &c.set_as_declined_on,
                           &c.set_as_bad_request_on, &c.set_as_rejected_request_on})
    if (*date) require(crm::is_crm_date(**date), "a date has the shape YYYY-MM-DDTHH:MM:SS");
  require(crm::parse_charge_status(crm::to_wire(c.status)) == c.status, "the status is one of the five");
  require(is_valid_json(c.raw_json), "the charge object billing receives is valid JSON");
}

}  // namespace

void list_charges(std::string_view input) {
  const auto page = crm::parse_list_charges(input);
  if (!page) return check_answer_error(page.error(), crm::method::list_charges);
  // A bad element is reported, not fatal: only a page without one must be valid JSON as a whole.
  if (page->malformed.empty()) require(is_valid_json(input), "an accepted page is valid JSON");
  require(page->entries == page->charges.size() + page->malformed.size(),
          "every element is a charge or reported malformed, none dropped");
  std::set<std::size_t> indexes;
  for (const auto& m : page->malformed) {
    require(m.index < page->entries && indexes.insert(m.index).second, "malformed indexes are distinct and in range");
    require(m.diagnostic.starts_with(std::string(crm::method::list_charges) + ": data.charges_set[" +
                                     std::to_string(m.index) + "]"),
            "a malformed element's diagnostic names its index");
    require(printable(m.diagnostic) && printable(m.raw_json), "a malformed element is reported with quoted text");
    if (m.number) require(!m.number->empty(), "a readable number of a malformed element is not empty");
  }
  std::string elements;
  for (const auto& c : page->charges) {
    check_charge(c, input);
    if (!elements.empty()) elements += ',';
    elements += c.raw_json;
  }
  // The charges, served again as a page of their own raw JSON, read back identically.
  const auto again = crm::parse_list_charges(ok_answer(R"({"charges_set":[)" + elements + "]}"));
  require(again.has_value(), "a page of accepted charges is accepted");
  require(again->malformed.empty() && again->charges.size() == page->charges.size(),
          "accepted charges stay accepted");
  for (std::size_t i = 0; i < page->charges.size(); ++i)
    require(same_charge(again->charges[i], page->charges[i]), "a charge reads back as itself from its raw JSON");
}

}  // namespace chargerecon::fuzz
