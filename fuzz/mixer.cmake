# Fuzz targets of the MIXER library (mixer/): the address parser and mappings (mixer_addr:
# std-or-address, 822 -> O/R -> 822 with the RFC 2156 example tables) and the MCGAM table
# loader (mixer_table). Seeds: fuzz/corpus/mixer_*/, the example tables under
# test-vectors/mixer/tables and etc/mixer, and the real PP tables of the shared vectors.
if(TARGET mg_mixer)
  mixgate_add_fuzz(NAME mixer_addr SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_addr.c LIBS mg_mixer
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_addr)
  set(mixer_table_corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_table
    ${CMAKE_SOURCE_DIR}/test-vectors/mixer/tables)
  if(EXISTS ${MIXGATE_VECTORS}/mixer)
    list(APPEND mixer_table_corpus ${MIXGATE_VECTORS}/mixer/pp-xtel-or2rfc.tbl
      ${MIXGATE_VECTORS}/mixer/pp-xtel-rfc2or.tbl)
  endif()
  mixgate_add_fuzz(NAME mixer_table SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_table.c LIBS mg_mixer
    CORPUS ${mixer_table_corpus})
endif()
# The content conversions: mixer_to_x400 (hostile RFC 5322 in) and mixer_to_822 (hostile P22 /
# P772 in). Seeds: the golden inputs of unit.mixer_conv, our IPM vectors, the real P772 sample.
if(TARGET mg_mixer AND TARGET mg_asn1)
  mixgate_add_fuzz(NAME mixer_to_x400 SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_conv.c
    LIBS mg_mixer mg_asn1 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_to_x400)
  target_compile_definitions(fuzz_mixer_to_x400 PRIVATE MIXER_FUZZ_TO_X400=1)
  set(mixer_to_822_corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_to_822
    ${CMAKE_SOURCE_DIR}/test-vectors/ipm)
  if(EXISTS ${MIXGATE_VECTORS}/x400/ber/wsample-p772-content.p772)
    list(APPEND mixer_to_822_corpus ${MIXGATE_VECTORS}/x400/ber/wsample-p772-content.p772)
  endif()
  mixgate_add_fuzz(NAME mixer_to_822 SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_conv.c
    LIBS mg_mixer mg_asn1 CORPUS ${mixer_to_822_corpus})
endif()
# The DSN parser of the report mapping (mixer_dsn_parse: hostile RFC 3464 reports in). Seeds:
# fuzz/corpus/mixer_dsn/ (copies of the golden DSNs of unit.mixer_report plus broken ones).
if(TARGET mg_mixer AND TARGET mg_asn1)
  mixgate_add_fuzz(NAME mixer_dsn SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_dsn.c
    LIBS mg_mixer mg_asn1 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_dsn)
endif()
# The X.400 report reader (mixer_report_from_ber: hostile ReportTransferContent in). Seeds:
# fuzz/corpus/mixer_report_ber/ (copies of the golden .ber files of unit.mixer_report).
if(TARGET mg_mixer AND TARGET mg_asn1)
  mixgate_add_fuzz(NAME mixer_report_ber SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_report_ber.c
    LIBS mg_mixer mg_asn1 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_report_ber)
endif()
# The message transfer envelope reader (mixer_dsnp_env_from_ber: hostile
# MessageTransferEnvelope in, the DSN parameters of RFC 2156 appendix A out). Seeds:
# fuzz/corpus/mixer_dsnp/ (the golden envelope of unit.mixer_dsnp, truncated and empty ones).
if(TARGET mg_mixer AND TARGET mg_asn1)
  set(mixer_dsnp_corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/mixer_dsnp)
  if(EXISTS ${MIXGATE_VECTORS}/x400/ber/wsample-p1-MessageTransferEnvelope.ber)
    list(APPEND mixer_dsnp_corpus ${MIXGATE_VECTORS}/x400/ber/wsample-p1-MessageTransferEnvelope.ber)
  endif()
  mixgate_add_fuzz(NAME mixer_dsnp SOURCES ${CMAKE_CURRENT_LIST_DIR}/mixer_dsnp.c
    LIBS mg_mixer mg_asn1 CORPUS ${mixer_dsnp_corpus})
endif()
