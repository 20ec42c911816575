#include "config/config.hpp"

#include <utility>

namespace chargerecon {
namespace {

constexpr std::pair<std::string_view, charge_list_filter> list_filter_names[] = {
    {"PROCESSED", charge_list_filter::processed},
    {"NOT_PROCESSED", charge_list_filter::not_processed},
};

constexpr std::pair<std::string_view, crm_charge_status> charge_status_names[] = {
    {"PENDING", crm_charge_status::pending},   {"APPROVED", crm_charge_status::approved},
    {"DECLINED", crm_charge_status::declined}, {"BAD_REQUEST", crm_charge_status::bad_request},
    {"REJECTED", crm_charge_status::rejected},
};

template <class E, std::size_t N>
std::string_view name_of(const std::pair<std::string_view, E> (&names)[N], E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

// CRM.COM spells these in capitals; so must the configuration (it is compared with answers).
template <class E, std::size_t N>
std::optional<E> value_of(const std::pair<std::string_view, E> (&names)[N], std::string_view text) {
  for (const auto& [name, v] : names)
    if (name == text) return v;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(charge_list_filter f) { return name_of(list_filter_names, f); }
std::string_view to_string(crm_charge_status s) { return name_of(charge_status_names, s); }

std::optional<charge_list_filter> parse_charge_list_filter(std::string_view text) {
  return value_of(list_filter_names, text);
}

std::optional<crm_charge_status> parse_crm_charge_status(std::string_view text) {
  return value_of(charge_status_names, text);
}

}  // namespace chargerecon
