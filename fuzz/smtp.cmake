# SMTP fuzz targets: the command-line parser, and a whole server session through a fake
# transport. Corpora are real command sequences (fuzz/corpus/smtp_*).
mixgate_add_fuzz(NAME smtp_cmd SOURCES ${CMAKE_CURRENT_LIST_DIR}/smtp_cmd.c LIBS mg_smtp
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/smtp_cmd)
mixgate_add_fuzz(NAME smtp_session SOURCES ${CMAKE_CURRENT_LIST_DIR}/smtp_session.c LIBS mg_smtp
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/smtp_session)
