# Rebuilds on 2 cores are dominated by Asio/Beast template code; ccache makes a clean CI
# checkout that already has a warm cache nearly free. Optional: absent ccache changes nothing.
find_program(CHARGERECON_CCACHE ccache)
if(CHARGERECON_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CHARGERECON_CCACHE}")
endif()
