# Fuzz target of the audit store's time-string parser (owner: audit): `mixgate audit --since`
# and --until take it from the command line. Seeds: fuzz/corpus/audit_time/.
if(TARGET mg_mta)
  mixgate_add_fuzz(NAME audit_time
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/audit_time.c
    LIBS mg_mta
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/audit_time)
endif()
