gatehouse_module(smtp
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/session.cpp
    ${CMAKE_CURRENT_LIST_DIR}/session_data.cpp
    ${CMAKE_CURRENT_LIST_DIR}/server.cpp
  DEPS gh_smtp_proto gh_log gh_events gh_tls OpenSSL::SSL Threads::Threads)
