// chargerecond: wiring only. Everything it calls lives in lib/.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::puts("chargerecond 0.1.0");
    return 0;
  }
  std::fputs("chargerecond: not implemented yet\n", stderr);
  return 64;
}
