#pragma once
// The fuzz targets: each takes one input as bytes and checks what must hold for any input.
// libFuzzer runs them one per binary (libfuzzer_entry.cpp); the corpus replay runs them all over
// tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/ in the ordinary build.

#include <string_view>

namespace chargerecon::fuzz {

void list_charges(std::string_view input);         // netflix/charges/list
void acknowledge(std::string_view input);          // netflix/charges/acknowledge, and its meaning for the ledger
void promotions(std::string_view input);           // netflix/promotions/list
void show_subscription(std::string_view input);    // netflix/subscriptions/show
void create_subscription(std::string_view input);  // netflix/subscriptions/create
void login(std::string_view input);                // authentication/token and web_api_key/token
void devices(std::string_view input);              // register_devices / unregister_devices
void status_answer(std::string_view input);        // suspend / unsuspend, and classify_failed_answer
void jwt(std::string_view input);                  // the token's exp claim, base64url
void config(std::string_view input);               // chargerecond's YAML configuration, from text

}  // namespace chargerecon::fuzz
