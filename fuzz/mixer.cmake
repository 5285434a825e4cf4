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
