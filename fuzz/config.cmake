# Fuzz target of the configuration loader (owner: config). Seeds: fuzz/corpus/config_load/
# (broken and unusual files) plus the shipped configurations in etc/.
if(TARGET mg_mta)
  mixgate_add_fuzz(NAME config_load
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/config_load.c
    LIBS mg_channels mg_mta
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/config_load ${CMAKE_SOURCE_DIR}/etc)
endif()
if(TEST fuzz.config_load)
  set_property(TEST fuzz.config_load APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/config_lsan.supp")
endif()
# The O/R address and presentation address notations (mta/oraddr, mta/config_x400).
if(TARGET mg_mta)
  mixgate_add_fuzz(NAME oraddr
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/oraddr.c
    LIBS mg_mta
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/oraddr)
endif()
