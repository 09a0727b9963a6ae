# `gatehouse queue ...` subcommands (queue_commands.hpp); included by
# src/app/CMakeLists.txt, which the main program owns.
gatehouse_module(app_queue
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/queue_commands.cpp
  DEPS gh_http gh_config CLI11::CLI11)
