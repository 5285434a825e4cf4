# SMTP client fuzz target: the client protocol session (no I/O) fed a peer's replies, which are
# outside input. Seeds are whole conversations (fuzz/corpus/smtp_client_session).
mixgate_add_fuzz(NAME smtp_client_session SOURCES ${CMAKE_CURRENT_LIST_DIR}/smtp_client_session.c LIBS mg_smtp
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/smtp_client_session)
