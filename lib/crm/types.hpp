#pragma once
// Value types of the CRM.COM netflix methods chargerecon speaks (shared/spec/crm-netflix-api.md).
// Plain data: no JSON, no I/O. Money stays the exact decimal text CRM.COM sent, never a double.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chargerecon::crm {

// Method names as they appear after the base URL; diagnostics and log events use them too.
namespace method {
inline constexpr std::string_view login = "authentication/token";
inline constexpr std::string_view login_web_api_key = "authentication/web_api_key/token";
inline constexpr std::string_view list_charges = "netflix/charges/list";
inline constexpr std::string_view acknowledge = "netflix/charges/acknowledge";
inline constexpr std::string_view list_promotions = "netflix/promotions/list";
inline constexpr std::string_view show_subscription = "netflix/subscriptions/show";
inline constexpr std::string_view create_subscription = "netflix/subscriptions/create";
inline constexpr std::string_view suspend = "netflix/subscriptions/suspend";
inline constexpr std::string_view unsuspend = "netflix/subscriptions/unsuspend";
inline constexpr std::string_view register_devices = "netflix/operators/register_devices";
inline constexpr std::string_view unregister_devices = "netflix/operators/unregister_devices";
}  // namespace method

// A charge's `charge_status`.
enum class charge_status { pending, approved, declined, bad_request, rejected };
std::string_view to_wire(charge_status s);  // "PENDING", ...
std::optional<charge_status> parse_charge_status(std::string_view wire);

// The `charge_status` parameter of charges/list: which list to page through.
enum class list_status {
  not_processed,  // only PENDING charges
  processed,      // APPROVED, DECLINED, BAD_REQUEST, REJECTED
};
std::string_view to_wire(list_status s);  // "NOT_PROCESSED", "PROCESSED"

struct charge {
  std::string number;    // e.g. "I00002706": the key for acknowledging
  std::string customer;  // billing_system_customer_identifier
  std::string amount;    // the JSON number token exactly as received ("1e3", "-0.00" kept verbatim)
  std::string currency;
  std::optional<std::string> local_currency_amount;  // JSON number token, later releases only
  std::optional<std::string> local_currency;
  charge_status status = charge_status::pending;
  // Dates as received ("YYYY-MM-DDTHH:MM:SS", shape checked); null or absent -> nullopt.
  std::optional<std::string> paid_through_date;
  std::optional<std::string> received_on;
  std::optional<std::string> set_as_approved_on;
  std::optional<std::string> set_as_declined_on;
  std::optional<std::string> set_as_bad_request_on;
  std::optional<std::string> set_as_rejected_request_on;
  // The charge object byte for byte as CRM.COM sent it: the ledger stores it and billing
  // receives it unchanged, so nothing we did not understand is lost on the way.
  std::string raw_json;
};

// An element of charges_set that is not a charge we can act on (wrong type, missing or
// unknown-valued field, not an object). It is never silently dropped: the page reports it
// with its index and the offending field, and counts it in `entries`, so the engine can
// record it for a person AND keep the offset rule right (the element still occupies a slot
// in CRM.COM's list until someone acknowledges it).
struct malformed_charge {
  std::size_t index = 0;   // position in data.charges_set
  std::string raw_json;    // the element as received, quoted and truncated (quote_peer_text)
  std::string diagnostic;  // "netflix/charges/list: data.charges_set[3].amount: expected a number, got string"
  std::optional<std::string> number;  // the charge number when it could still be read
};

struct charges_page {
  std::vector<charge> charges;
  std::vector<malformed_charge> malformed;
  // How many elements data.charges_set held, good or malformed: the offset RULE counts them.
  std::size_t entries = 0;
};

// One item of charges/acknowledge.
struct ack_item {
  std::string number;
  std::string customer;                         // billing_system_customer_identifier
  std::optional<std::string> reference_number;  // the billing reference; unique per operator
};

// An entry of data.failed_charges_set: CRM.COM refused to acknowledge this charge.
// Fields CRM.COM sent as null or left out are empty.
struct ack_refusal {
  std::string number;
  std::string reference_number;
  std::string error_code;
  std::string error_description;  // peer text: quote before logging
};

// An element of promotions/list. Only `code` is required (fields_set may leave the rest out).
struct promotion {
  std::string code;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> effective_from;  // date text
  std::optional<std::string> expires_on;      // date text
};

enum class life_cycle_state { effective, not_effective, cancelled };
std::string_view to_wire(life_cycle_state s);
std::optional<life_cycle_state> parse_life_cycle_state(std::string_view wire);

struct subscription {
  std::string subscription_number;
  std::optional<std::string> netflix_state;         // wire name "netflix_sate" (sic)
  std::optional<crm::life_cycle_state> life_cycle;  // wire name "life_cycle_state"
  std::optional<std::string> promotions_set;        // raw JSON text, shapes undocumented
  std::optional<std::string> prices_set;            // raw JSON text (objects with FormattedPrice, ...)
};

// Which customer subscriptions/show looks up.
struct subscription_query {
  enum class by { billing_system_customer_identifier, netflix_customer_identifier };
  by key = by::billing_system_customer_identifier;
  std::string value;
  std::vector<std::string> fields;  // fields_set; empty: all
};

enum class channel { web, store, mobile, broadband, other };
std::string_view to_wire(channel c);

// CRM.COM's way of naming a country: exactly one of these keys.
struct country_identifier {
  enum class by { id, name, alternative_code, two_character_code, three_character_code };
  by key = by::two_character_code;
  std::string value;
};

struct customer_address {
  std::string type;  // HOME, BUSINESS, POBOX, CUSTOM1..CUSTOM5 (mandatory; checked before sending)
  std::optional<std::string> street_name;
  std::optional<std::string> street_number;
  std::optional<int> floor;
  std::optional<std::string> apartment_number;
  std::optional<std::string> area;
  std::optional<std::string> town_city;
  std::optional<std::string> district;
  std::optional<std::string> municipality;
  std::optional<std::string> postal_code;
  std::optional<country_identifier> country;
};

struct customer_email {
  std::optional<std::string> type;  // PERSONAL, BUSINESS, CUSTOM1..CUSTOM5
  std::string email_address;        // mandatory
  std::optional<std::string> notes;
};

struct customer_phone {
  std::optional<std::string> type;  // LANDLINE, MOBILE, FAX, CUSTOM1..CUSTOM5
  std::string number;               // mandatory
  std::optional<std::string> area_code;
  std::optional<country_identifier> country;
  std::optional<std::string> notes;
};

inline constexpr std::chrono::seconds max_validity_duration{86400};

struct subscription_create_request {
  std::string customer;  // billing_system_customer_identifier (mandatory)
  std::optional<std::string> promotion_code;
  std::optional<crm::channel> channel;
  std::optional<std::chrono::seconds> validity_duration;  // 1s..86400s
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<customer_address> address;
  std::optional<customer_email> email;
  std::optional<customer_phone> phone;
};

// The answer of subscriptions/create. Its key names are undocumented, so it is read
// leniently: the first string field under data whose key contains "token" (or "url"),
// searched depth first; at least one of them is present or the answer is malformed.
struct subscription_signup {
  std::optional<std::string> token;
  std::optional<std::string> url;
  std::string raw_data;  // data exactly as received, for a person when the guess is wrong
};

// register_devices / unregister_devices: the group the devices belong to.
struct group_identifier {
  enum class by { id, name, alternative_code };
  by key = by::name;
  std::string value;
};

// data.failed_devices_set of register_devices / unregister_devices (merged over split calls).
struct device_result {
  std::vector<std::string> failed_esns;
};

}  // namespace chargerecon::crm
