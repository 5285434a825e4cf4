# Fuzz targets of the policy-rules library (channels/rules): the configuration compiler on
# arbitrary text, and the matcher + header editor on arbitrary messages. Seeds:
# fuzz/corpus/rules_config/ (plus etc/examples/rules.conf) and fuzz/corpus/rules_match/.
if(TARGET mg_rules)
  mixgate_add_fuzz(NAME rules_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/rules_config.c LIBS mg_rules
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/rules_config ${CMAKE_SOURCE_DIR}/etc/examples/rules.conf)
  mixgate_add_fuzz(NAME rules_match SOURCES ${CMAKE_CURRENT_LIST_DIR}/rules_match.c LIBS mg_rules
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/rules_match)
endif()
if(TEST fuzz.rules_config)
  set_property(TEST fuzz.rules_config APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/config_lsan.supp")
endif()
